#!/usr/bin/python3
# Written by pghac. Fills a node's secrets into the files its user-data wrote.
#
# No secret is in user-data: VM metadata is readable by anyone who may view the VM, and
# user-data also passes through Terraform's plan and state. The files that need a secret
# (Patroni's config.yml, haproxy.cfg, ...) hold a placeholder instead: a dollar sign and the
# entry's name in braces, the name matching [a-z][a-z0-9_]*. cloud-init writes them with their
# owners and modes, then runs this as the first runcmd line, before any daemon reads them:
#
#   /usr/bin/python3 -I /usr/local/lib/pghac/secrets.py FILE...
#
# It reads the Lockbox secret named by the VM's metadata attribute pghac-lockbox-secret-id
# from the payload API at pghac-lockbox-payload-endpoint, authenticated as the VM's own service
# account (a token from the metadata service), and replaces each placeholder with the entry of
# that name, verbatim (textValue as UTF-8, binaryValue decoded). pghac writes the secret's
# version right after Terraform creates the VMs (pghac apply, pghac up), so a node may boot
# before there is one, or before its network is up: connection errors, 404, 429 and 5xx are
# retried until --timeout; 401 and 403 only for --auth-retry (IAM bindings take a moment to
# propagate), since no wait fixes a missing role.
#
# Every file is checked before any is written: a placeholder the secret has no entry for
# fails the run and leaves all files as they were. Each changed file is replaced atomically
# with its owner and exact mode; a file without placeholders is not touched. Reading all
# files first also makes a rerun on a filled node a no-op that needs no network.
#
# No value and no token is ever printed: messages name files, entries and HTTP statuses only.
#
# Exit status: 0 filled (or nothing to fill), 1 failure (secret unreadable or no version
# within --timeout, a missing entry, a file that cannot be read or written), 2 usage.
#
# (No dollar-brace or percent-brace sequence appears in this file: Terraform's templatefile()
# renders the user-data it is embedded in.)
import argparse
import base64
import http.client
import ipaddress
import json
import os
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

PROG = 'pghac-secrets'
DEFAULT_METADATA = 'http://169.254.169.254'
ATTR_SECRET_ID = 'pghac-lockbox-secret-id'
ATTR_ENDPOINT = 'pghac-lockbox-payload-endpoint'
PLACEHOLDER = re.compile(rb'\$\{([a-z][a-z0-9_]*)\}')
# One request may take this long; the metadata service and Lockbox answer in well under it.
REQUEST_TIMEOUT = 10
# While waiting, a line at most this often: enough to see in cloud-init-output.log why a node
# has not started its database yet, without a line every few seconds for twenty minutes.
WAIT_REPORT_EVERY = 60
# Longest API message quoted in an error line.
MAX_MESSAGE = 300

# Strings no line may contain (the token, the values): messages are built so that none does,
# and this is the safety net for text that comes from outside (an API's message).
_sensitive = []


def log(msg, *args, out=sys.stderr):
    line = PROG + ': ' + (msg % args if args else msg)
    for s in _sensitive:
        line = line.replace(s, '<redacted>')
    print(line, file=out, flush=True)


def sensitive(value):
    if isinstance(value, bytes):
        value = value.decode('utf-8', 'replace')
    # A very short value would redact ordinary words; no generated secret is that short.
    if len(value) >= 4:
        _sensitive.append(value)


class Retry(Exception):
    """A failure that waiting may cure. auth: an HTTP 401 or 403, retried for a while only."""

    def __init__(self, reason, auth=False):
        super().__init__(reason)
        self.auth = auth


class Fail(Exception):
    """A failure no wait cures."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would follow a redirect with every header, the bearer token included, to any
    # host: neither the metadata service nor Lockbox redirects, so a 3xx is an error.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


# No proxy: the metadata service is link-local and must never see a proxy, and no proxy may
# see the token. The HTTPS context verifies with the system's trust store.
_opener = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), _NoRedirect(),
    urllib.request.HTTPSHandler(context=ssl.create_default_context()))


def api_message(body):
    """Returns the "message" of a JSON error body (gRPC gateway style), '' if none."""
    try:
        doc = json.loads(body.decode('utf-8'))
    except ValueError:
        return ''
    msg = doc.get('message') if isinstance(doc, dict) else None
    if not isinstance(msg, str):
        return ''
    msg = ' '.join(msg.split())
    return msg[:MAX_MESSAGE] + ('...' if len(msg) > MAX_MESSAGE else '')


def get(url, headers, what, deadline):
    """Returns the body of a GET; raises Retry or Fail with a reason naming what was asked."""
    req = urllib.request.Request(url, headers=headers)
    timeout = max(0.1, min(REQUEST_TIMEOUT, deadline - time.monotonic()))
    try:
        with _opener.open(req, timeout=timeout) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        try:
            body = e.read(64 << 10)
        except (OSError, http.client.HTTPException):
            body = b''
        finally:
            e.close()
        reason = '%s: HTTP %d' % (what, e.code)
        msg = api_message(body)
        if msg:
            reason += ': ' + msg
        if e.code in (401, 403):
            raise Retry(reason, auth=True) from None
        if e.code in (404, 429) or e.code >= 500:
            raise Retry(reason) from None
        raise Fail(reason) from None
    except (OSError, http.client.HTTPException) as e:
        # URLError (refused, unreachable, TLS: a clock not yet set fails verification),
        # timeouts, a connection closed mid-answer.
        detail = e.reason if isinstance(e, urllib.error.URLError) else e
        raise Retry('%s: %s' % (what, detail or type(e).__name__)) from None


def check_endpoint(endpoint):
    """Refuses an endpoint that would send the token in clear text or not over HTTP at all."""
    u = urllib.parse.urlsplit(endpoint)
    if u.scheme == 'https' and u.hostname:
        return
    if u.scheme == 'http' and u.hostname:
        try:
            if u.hostname == 'localhost' or ipaddress.ip_address(u.hostname).is_loopback:
                return  # tests
        except ValueError:
            pass
    raise Fail('metadata attribute %s is %r: want an https:// URL' % (ATTR_ENDPOINT, endpoint))


def fetch(metadata, state, deadline):
    """Returns (version id, {name: value bytes}) of the secret; state['id'] is its id once known."""
    md = {'Metadata-Flavor': 'Google'}
    base = metadata.rstrip('/') + '/computeMetadata/v1/instance/'

    def attribute(name):
        body = get(base + 'attributes/' + name, md, 'metadata attribute ' + name, deadline)
        value = body.decode('utf-8', 'replace').strip()
        if not value:
            raise Fail('metadata attribute %s is empty' % name)
        return value

    state['id'] = attribute(ATTR_SECRET_ID)
    endpoint = attribute(ATTR_ENDPOINT).rstrip('/')
    check_endpoint(endpoint)

    body = get(base + 'service-accounts/default/token', md, 'service account token', deadline)
    try:
        token = json.loads(body.decode('utf-8'))['access_token']
        if not isinstance(token, str) or not token:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        # The body is not quoted: it may hold the token.
        raise Fail('the metadata service answered the token request without an access_token') from None
    sensitive(token)

    url = '%s/lockbox/v1/secrets/%s/payload' % (endpoint, urllib.parse.quote(state['id'], safe=''))
    body = get(url, {'Authorization': 'Bearer ' + token}, 'Lockbox payload', deadline)
    try:
        doc = json.loads(body.decode('utf-8'))
        version, entries = doc['versionId'], doc['entries']
        if not isinstance(version, str) or not isinstance(entries, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise Fail('Lockbox answered with a payload that has no versionId and entries') from None
    values = {}
    for i, e in enumerate(entries):
        key = e.get('key') if isinstance(e, dict) else None
        if not isinstance(key, str):
            raise Fail('entry %d of version %s has no key' % (i, version))
        if isinstance(e.get('textValue'), str):
            value = e['textValue'].encode('utf-8')
        elif isinstance(e.get('binaryValue'), str):
            try:
                value = base64.b64decode(e['binaryValue'], validate=True)
            except ValueError:
                raise Fail('entry %s of version %s: binaryValue is not base64' % (key, version)) from None
        else:
            raise Fail('entry %s of version %s has neither textValue nor binaryValue' % (key, version))
        sensitive(value)
        values[key.encode('utf-8')] = value
    return version, values


def fetch_waiting(args, state):
    """fetch, retried as the header says; raises Fail when it gives up."""
    start = time.monotonic()
    deadline = start + args.timeout
    auth_since = None
    reported = None
    while True:
        try:
            return fetch(args.metadata, state, deadline)
        except Retry as e:
            reason, now = str(e), time.monotonic()
            if e.auth:
                auth_since = now if auth_since is None else auth_since
                if now - auth_since >= args.auth_retry:
                    raise Fail('%s (for %.1f s: the VM\'s service account needs lockbox.payloadViewer on '
                               'the secret and kms.keys.decrypter on its KMS key)' % (reason, now - auth_since))
            if now + args.retry_every > deadline:
                raise Fail('gave up after %g s: %s' % (args.timeout, reason))
            if reported is None or now - reported >= WAIT_REPORT_EVERY:
                log('waiting for Lockbox secret %s to have a version (pghac apply / pghac up writes it): %s',
                    state['id'], reason)
                reported = now
            time.sleep(args.retry_every)


class Target:
    """One FILE argument: its content as read, and what it becomes."""

    def __init__(self, path):
        self.path = path
        self.real = os.path.realpath(path)
        with open(self.real, 'rb') as f:
            self.st = os.fstat(f.fileno())
            self.src = f.read()
        self.names = sorted(set(m.group(1) for m in PLACEHOLDER.finditer(self.src)))
        self.new = None
        self.count = 0
        self.tmp = None

    def fill(self, values):
        # One pass, through a function: a value is never scanned for placeholders itself, and
        # backslashes in it are not re.sub's escapes.
        self.new, self.count = PLACEHOLDER.subn(lambda m: values[m.group(1)], self.src)

    def write_tmp(self):
        d, base = os.path.split(self.real)
        tmp = os.path.join(d, '.%s.pghac-secrets.%d' % (base, os.getpid()))
        mode = self.st.st_mode & 0o7777
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        self.tmp = tmp
        with os.fdopen(fd, 'wb') as f:
            # Nothing is written until owner and mode are the original's. Owner first: a
            # chown clears the set-id bits; the umask narrowed the open's mode, the chmod
            # makes it exact.
            os.fchown(f.fileno(), self.st.st_uid, self.st.st_gid)
            os.fchmod(f.fileno(), mode)
            f.write(self.new)
            f.flush()
            os.fsync(f.fileno())


def fsync_dir(d):
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main(argv):
    p = argparse.ArgumentParser(prog='secrets.py', description='Fill secret placeholders in FILEs '
                                'from the Lockbox secret named by the VM\'s metadata.')
    p.add_argument('--metadata', default=DEFAULT_METADATA, help='metadata service base URL (tests)')
    p.add_argument('--retry-every', type=float, default=5, metavar='SECONDS', help='pause between tries')
    p.add_argument('--timeout', type=float, default=1200, metavar='SECONDS',
                   help='give up waiting for a readable version after this long')
    p.add_argument('--auth-retry', type=float, default=60, metavar='SECONDS',
                   help='give up on HTTP 401/403 after this long')
    p.add_argument('files', nargs='+', metavar='FILE')
    args = p.parse_args(argv)
    if args.retry_every < 0 or args.timeout <= 0 or args.auth_retry < 0:
        p.error('--retry-every and --auth-retry must be 0 or more, --timeout more than 0')

    # Read (and dedupe) every file before anything else: a missing one fails at once.
    targets, seen = [], set()
    for path in args.files:
        t = Target(path)
        if t.real not in seen:
            seen.add(t.real)
            targets.append(t)
    if not any(t.names for t in targets):
        log('nothing to fill: the files hold no placeholder', out=sys.stdout)
        return 0

    state = {'id': '(id not read yet)'}
    try:
        version, values = fetch_waiting(args, state)
    except Fail as e:
        log('cannot read Lockbox secret %s: %s', state['id'], e)
        return 1

    missing = [(t, [n for n in t.names if n not in values]) for t in targets]
    missing = [(t, names) for t, names in missing if names]
    if missing:
        for t, names in missing:
            log('%s: Lockbox secret %s version %s has no entry for placeholder(s) %s',
                t.path, state['id'], version, ', '.join(n.decode() for n in names))
        log('no file changed')
        return 1

    changed = [t for t in targets if t.names]
    try:
        for t in changed:
            t.fill(values)
            t.write_tmp()
        for t in changed:
            os.replace(t.tmp, t.real)
            t.tmp = None
    finally:
        for t in changed:
            if t.tmp is not None:
                try:
                    os.unlink(t.tmp)
                except OSError:
                    pass
    for d in sorted(set(os.path.dirname(t.real) for t in changed)):
        fsync_dir(d)
    log('filled %d placeholders in %d files from Lockbox secret %s version %s',
        sum(t.count for t in changed), len(changed), state['id'], version, out=sys.stdout)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except OSError as e:
        # A file that cannot be read or written: the message names it, and holds no content.
        log('error: %s', e)
        sys.exit(1)
    except Exception as e:
        # Not quoted: an unexpected error's text could hold a value.
        log('error: unexpected %s (details withheld: they could hold a secret)', type(e).__name__)
        sys.exit(1)
