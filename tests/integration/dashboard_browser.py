#!/usr/bin/env python3
"""The browser side of dashboard_test.sh: one headless Chromium (Debian's
chromium + chromium-driver, through python3-selenium) kept open for the whole
test, so that what the page shows live is seen without a reload.

It reads one command a line from its stdin (arguments separated by tabs) and
answers each with one line on stdout: "ok [what it saw]" or "fail why".
Usage: dashboard_browser.py ARTIFACT_DIR PROFILE_DIR < commands > answers
"""
import json
import os
import re
import sys
import time
import traceback

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ARTIFACTS, PROFILE = sys.argv[1], sys.argv[2]


class Fail(Exception):
    pass


def start():
    o = webdriver.ChromeOptions()
    o.binary_location = os.environ.get('CHROMIUM', '/usr/bin/chromium')
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--window-size=1280,900',
              '--no-proxy-server', '--no-first-run', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', '--user-data-dir=' + PROFILE):
        o.add_argument(a)
    o.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    service = Service(os.environ.get('CHROMEDRIVER', '/usr/bin/chromedriver'),
                      log_path=os.path.join(ARTIFACTS, 'chromedriver.log'))
    d = webdriver.Chrome(service=service, options=o)
    d.set_script_timeout(20)
    return d


D = start()
console = []  # every browser log entry seen


def drain_log():
    try:
        console.extend(D.get_log('browser'))
    except WebDriverException:
        pass


def wait(what, fn, timeout):
    """Polls fn until it returns something true; Fail with the last value."""
    deadline = time.time() + float(timeout)
    last = None
    while True:
        try:
            last = fn()
        except WebDriverException as e:
            last = 'error: ' + e.msg if getattr(e, 'msg', None) else repr(e)
        if last and not (isinstance(last, str) and last.startswith('error: ')):
            return last
        if time.time() >= deadline:
            raise Fail('%s: not within %s s (last: %s)' % (what, timeout, last))
        time.sleep(0.05)


def js(script, *args):
    return D.execute_script(script, *args)


def row_js(mac):
    return "document.querySelector('#hosts tbody tr[data-mac=\"' + %s + '\"]')" % json.dumps(mac)


# ---- commands ---------------------------------------------------------------

def c_open(url, timeout='20'):
    """Loads the page, marks the window (a reload would lose the mark) and
    waits for the stream to be open."""
    D.get(url)
    js('window.__pxed_test_mark = "not reloaded";')
    wait('#live-status says live', lambda: D.find_element(By.ID, 'live-status').text == 'live', timeout)
    return 'page open, live'


def c_same_page():
    """The page was not reloaded since `open`."""
    if js('return window.__pxed_test_mark') != 'not reloaded':
        raise Fail('the page was reloaded (its window mark is gone)')
    return 'same page'


def c_live(timeout='10'):
    return wait('#live-status says live', lambda: D.find_element(By.ID, 'live-status').text == 'live' and 'live', timeout)


def c_rows(*macs, timeout='15'):
    """Every MAC has its row in #hosts."""
    def have():
        missing = [m for m in macs if not js('return !!' + row_js(m))]
        return not missing or None
    wait('rows for ' + ' '.join(macs), have, timeout)
    n = js("return document.querySelectorAll('#hosts tbody tr').length")
    return '%d rows' % n


def c_cell(mac, cls):
    v = js('const r = ' + row_js(mac) + '; const c = r && r.querySelector(".' + cls + '"); return c ? c.textContent.trim() : null;')
    if v is None:
        raise Fail('no .%s cell in the row of %s' % (cls, mac))
    return v


def c_watch(mac):
    """Records every data-stage the row's stage cell takes from now on (the
    cell must be the same node throughout: rows are updated in place)."""
    ok = js('''
const r = %s; if (!r) return false;
const cell = r.querySelector('td.stage');
window.__stages = window.__stages || {};
const seen = window.__stages[arguments[0]] = [cell.dataset.stage];
window.__stage_cells = window.__stage_cells || {};
window.__stage_cells[arguments[0]] = cell;
new MutationObserver(() => { if (seen[seen.length - 1] !== cell.dataset.stage) seen.push(cell.dataset.stage); })
  .observe(cell, {attributes: true, attributeFilter: ['data-stage']});
return true;''' % row_js(mac), mac)
    if not ok:
        raise Fail('no row for ' + mac)
    return 'watching ' + mac


def c_stage(mac, stage, timeout='10'):
    """Waits until the row's stage cell says STAGE."""
    def now():
        v = js('const r = ' + row_js(mac) + '; return r ? r.querySelector("td.stage").dataset.stage : null;')
        return v == stage or None
    try:
        wait('stage of %s' % mac, now, timeout)
    except Fail:
        v = js('const r = ' + row_js(mac) + '; return r ? r.querySelector("td.stage").dataset.stage : null;')
        raise Fail('the row of %s says data-stage=%r, not %r, after %s s' % (mac, v, stage, timeout))
    return 'data-stage=' + stage


def c_stages(mac):
    """The stages the watched cell went through, and whether it is still the
    row's cell (not rebuilt)."""
    same = js('const r = ' + row_js(mac) + '; return !!r && window.__stage_cells[arguments[0]] === r.querySelector("td.stage");', mac)
    seen = js('return (window.__stages || {})[arguments[0]] || []', mac)
    if not same:
        raise Fail('the row of %s was rebuilt (its stage cell is another node); seen: %s' % (mac, seen))
    return ','.join(seen)


def c_state(mac, want, timeout='10'):
    def now():
        return c_cell(mac, 'state') == want or None
    try:
        wait('state of ' + mac, now, timeout)
    except Fail:
        raise Fail('the state cell of %s says %r, not %r' % (mac, c_cell(mac, 'state'), want))
    return 'state ' + want


def c_text(css, regex, timeout='10'):
    """Waits until the element's shown text (lines joined) matches REGEX
    ('.' takes newlines too); answers with the text."""
    def now():
        els = D.find_elements(By.CSS_SELECTOR, css)
        t = els[0].text if els else None
        return t if t is not None and re.search(regex, t, re.S) else None
    try:
        return wait(css, now, timeout).replace('\n', ' | ')
    except Fail:
        els = D.find_elements(By.CSS_SELECTOR, css)
        raise Fail('%s: text %r does not match /%s/' % (css, els[0].text if els else '(no such element)', regex))


def c_count(css, at_least, timeout='10'):
    def now():
        n = len(D.find_elements(By.CSS_SELECTOR, css))
        return n if n >= int(at_least) else None
    try:
        return '%d' % wait(css, now, timeout)
    except Fail:
        raise Fail('%d elements match %s, not %s or more' % (len(D.find_elements(By.CSS_SELECTOR, css)), css, at_least))


def c_visible(css, timeout='10'):
    return wait(css + ' shown', lambda: any(e.is_displayed() for e in D.find_elements(By.CSS_SELECTOR, css)) and 'shown', timeout)


def c_click(css):
    els = [e for e in D.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]
    if not els:
        raise Fail('nothing shown matches ' + css)
    els[0].click()
    return 'clicked ' + css


def c_type(css, text):
    els = D.find_elements(By.CSS_SELECTOR, css)
    if not els:
        raise Fail('no ' + css)
    els[0].clear()
    els[0].send_keys(text)
    return 'typed into ' + css


def c_value(css):
    els = D.find_elements(By.CSS_SELECTOR, css)
    if not els:
        raise Fail('no ' + css)
    return 'value=' + (els[0].get_attribute('value') or '')


def c_dialog(timeout='5'):
    """The confirm dialog is open (modal); answers with its text."""
    wait('#confirm-dialog open', lambda: js("return document.getElementById('confirm-dialog').open"), timeout)
    return D.find_element(By.ID, 'confirm-dialog').text.replace('\n', ' | ')


def c_no_dialog():
    if js("return document.getElementById('confirm-dialog').open"):
        raise Fail('#confirm-dialog is open')
    return 'no dialog'


def c_select(*macs):
    for mac in macs:
        box = D.find_element(By.CSS_SELECTOR, '#hosts tbody tr[data-mac="%s"] input.select' % mac)
        if not box.is_selected():
            box.click()
    return D.find_element(By.ID, 'bulk-count').text


def c_leaks(secret):
    """The API key is nowhere the page keeps things: storage, readable
    cookies, the DOM, the input, the console."""
    drain_log()
    where = js('''
const s = arguments[0], out = [];
if (JSON.stringify(Object.assign({}, localStorage)).includes(s)) out.push('localStorage');
if (JSON.stringify(Object.assign({}, sessionStorage)).includes(s)) out.push('sessionStorage');
if (document.cookie.includes(s)) out.push('document.cookie');
if (document.documentElement.outerHTML.includes(s)) out.push('the DOM');
if (document.getElementById('signin-key').value.includes(s)) out.push('the key input');
return out;''', secret)
    if any(secret in json.dumps(e) for e in console):
        where.append('the console')
    if where:
        raise Fail('the key is in ' + ', '.join(where))
    return 'the key is nowhere in the page'


def c_console():
    """No error in the console: in particular no CSP violation (inline
    script or style, eval) and no failed load."""
    drain_log()
    bad = [e['message'] for e in console if e.get('level') == 'SEVERE'
           # The refusals the test provokes on purpose.
           and not re.search(r'api/(action|login)\S* - Failed to load resource: the server responded with a status of 40[13]', e['message'])]
    if bad:
        raise Fail('console errors: ' + ' || '.join(bad))
    return '%d console entries, no error' % len(console)


def emulate(size):
    """The viewport as a device of that size (a phone below 600 px: mobile,
    so that the page's meta viewport counts)."""
    w, h = (int(x) for x in size.split('x'))
    D.execute_cdp_cmd('Emulation.setDeviceMetricsOverride',
                      {'width': w, 'height': h, 'deviceScaleFactor': 1, 'mobile': w < 600})
    time.sleep(0.3)  # a layout pass at the new size


def c_shot(name, size=None):
    if size:
        emulate(size)
    path = os.path.join(ARTIFACTS, name)
    if not D.save_screenshot(path):
        raise Fail('no screenshot')
    return path


def c_size(size):
    emulate(size)
    return 'viewport ' + json.dumps(js('return [innerWidth, innerHeight]'))


def c_scrolls_sideways(css):
    """The table's wrapper scrolls horizontally and the page does not."""
    r = js('const t = document.querySelector(arguments[0]), e = t && t.parentElement;'
           'return e && [e.scrollWidth, e.clientWidth, document.documentElement.scrollWidth, innerWidth];', css)
    if not r:
        raise Fail('no ' + css)
    sw, cw, pw, iw = r
    if not (sw > cw and pw <= iw + 1):
        raise Fail('%s scrollWidth %d clientWidth %d, page %d in %d' % (css, sw, cw, pw, iw))
    return '%s scrolls (%d in %d), the page does not (%d in %d)' % (css, sw, cw, pw, iw)


def c_hash(h):
    js('location.hash = arguments[0]', h)
    return 'hash ' + h


def c_js(script):
    return json.dumps(js(script))


COMMANDS = {k[2:].replace('_', '-'): v for k, v in globals().items() if k.startswith('c_')}


def main():
    os.makedirs(ARTIFACTS, exist_ok=True)
    print('ok ready', flush=True)
    for line in sys.stdin:
        line = line.rstrip('\n')
        if not line:
            continue
        name, *args = line.split('\t')
        if name == 'quit':
            print('ok bye', flush=True)
            break
        fn = COMMANDS.get(name)
        try:
            if not fn:
                raise Fail('no command ' + name)
            out = fn(*args)
            print('ok ' + str(out).replace('\n', ' | '), flush=True)
        except Fail as e:
            print('fail ' + str(e).replace('\n', ' | '), flush=True)
        except Exception as e:  # a broken browser: say so, go on
            print('fail %s: %s' % (type(e).__name__, str(e).replace('\n', ' | ')[:500]), flush=True)
            traceback.print_exc(file=sys.stderr)


try:
    main()
finally:
    try:
        drain_log()
        with open(os.path.join(ARTIFACTS, 'console.log'), 'w') as f:
            for e in console:
                f.write(json.dumps(e) + '\n')
    finally:
        D.quit()
