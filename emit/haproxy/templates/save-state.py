#!/usr/bin/python3
# Written by pghac. HAProxy's reload (systemd's ExecReload, see haproxy.service.d/pghac.conf)
# runs this first: it saves every server's state, up or down, where load-server-state-from-file
# reads it, so that the new workers start with the states the old ones knew. Without it every
# server starts up, and for a check interval the primary port would also reach the replicas.
#
# Usage: haproxy-save-state.py [STATS_SOCKET STATE_FILE]
import os
import socket
import sys

SOCKET = '/run/haproxy/admin.sock'
STATE_FILE = '/var/lib/haproxy/server-state'


def main(argv):
    sock_path, state_file = (argv[1], argv[2]) if len(argv) == 3 else (SOCKET, STATE_FILE)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(sock_path)
    except OSError as e:
        # HAProxy does not run: whatever starts next has nothing to keep.
        print('haproxy-save-state: %s: %s; no state saved' % (sock_path, e), file=sys.stderr)
        return 0
    s.sendall(b'show servers state\n')
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            break
        chunks.append(b)
    s.close()
    tmp = state_file + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(b''.join(chunks))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, state_file)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
