#!/usr/bin/python3
# Written by pghac. etcd.service starts etcd through this (ExecStart, see
# etcd.service.d/pghac.conf). It decides on the node, at boot, whether this member founds the
# etcd cluster or joins one that already runs, so that a replaced or added node always joins:
#
#   - a data directory already there: etcd ignores the initial-cluster settings; nothing to do;
#   - no other member answers: the cluster is being founded, every member booting at once
#     (initial cluster state "new", the members /etc/default/etcd lists). A member that serves
#     clients but lists no members means a cluster that runs without quorum: this member waits
#     (exits, systemd starts it again) rather than found a second one;
#   - a member answers: the cluster runs. This member is added to it unless it is there, still
#     unstarted (founding, the others were faster, or an earlier boot added it); a started
#     member (one that has published its client URLs) with this member's peer URL is a former machine of this node, whose data is
#     gone: it is removed and this one added in its place. Then "existing", with the members
#     the cluster itself lists.
#
# etcd.service's ExecStart runs it with etcd's command line; it execs etcd with the decision in
# its environment (ETCD_INITIAL_CLUSTER_STATE, ETCD_INITIAL_CLUSTER), so etcd keeps its PID and
# its notifications to systemd, and no decision outlives the start it was made for.
#
# Usage: etcd-boot.py ETCD [ARG...]; reads ETCD_NAME, ETCD_DATA_DIR,
# ETCD_INITIAL_ADVERTISE_PEER_URLS, ETCD_INITIAL_CLUSTER and PGHAC_ETCD_PEERS (the other
# members' client URLs) from its environment, as /etc/default/etcd sets them.
import json
import os
import sys
import urllib.request

# A member list answers at once; a membership change waits for its commit, which etcd itself
# gives up on after 5 s plus two election timeouts (a proposal made during an election is lost).
READ_TIMEOUT, CHANGE_TIMEOUT = 3, 10


def call(url, path, body, timeout=CHANGE_TIMEOUT):
    req = urllib.request.Request(url.rstrip('/') + path, data=json.dumps(body).encode(),
                                 headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)


def first_answer(peers):
    """The first peer that lists the cluster's members, and the list; (None, None) if none does.
    A peer that serves clients but lists no members belongs to a cluster that runs without
    quorum: raising then keeps this member from founding a second cluster beside it."""
    quorumless = []
    for url in peers:
        try:
            return url, call(url, '/v3/cluster/member/list', {}, READ_TIMEOUT).get('members', [])
        except (OSError, ValueError) as e:
            print('etcd-boot: %s: %s' % (url, e), file=sys.stderr)
        # etcd serves clients only once it has joined a cluster with quorum: a member that is
        # founding, or restarting without quorum, keeps its client port silent.
        try:
            with urllib.request.urlopen(url.rstrip('/') + '/version', timeout=READ_TIMEOUT):
                quorumless.append(url)
        except OSError:
            pass
    if quorumless:
        raise OSError('the cluster runs (%s answer) but lists no members: no quorum' % ', '.join(quorumless))
    return None, None


def main(argv):
    if len(argv) < 2:
        print('usage: etcd-boot.py ETCD [ARG...]', file=sys.stderr)
        return 2
    env = os.environ
    try:
        state = decide(env)
    except (OSError, ValueError) as e:
        # systemd starts etcd again (Restart=always): the cluster may have no quorum yet.
        print('etcd-boot: cannot join the running cluster now: %s' % e, file=sys.stderr)
        return 1
    if state is None:
        return 1
    if state:
        env['ETCD_INITIAL_CLUSTER_STATE'], env['ETCD_INITIAL_CLUSTER'] = state
        print('etcd-boot: joining the running cluster: %s' % state[1], file=sys.stderr)
    os.execv(argv[1], argv[1:])


def decide(env):
    """(state, cluster) to join a running cluster; () to start as /etc/default/etcd says; None
    when the member cannot start now."""
    name, data_dir = env['ETCD_NAME'], env['ETCD_DATA_DIR']
    my_url = env['ETCD_INITIAL_ADVERTISE_PEER_URLS'].split(',')[0]
    if os.path.isdir(os.path.join(data_dir, 'member')):
        return ()  # a member with data rejoins on its own
    peers = [u for u in env.get('PGHAC_ETCD_PEERS', '').split(',') if u]
    url, members = first_answer(peers)
    if url is None:
        print('etcd-boot: no other member answers: founding the cluster', file=sys.stderr)
        return ()
    mine = [m for m in members if my_url in m.get('peerURLs', [])]
    for m in mine:
        # A member publishes its client URLs when it first starts (a founding member that has
        # not has its name already, from the initial cluster). Started before, and this data
        # directory is empty: that machine's data is gone.
        if m.get('clientURLs'):
            print('etcd-boot: removing member %s (%s), a former machine of %s' % (m['ID'], m['name'], name), file=sys.stderr)
            call(url, '/v3/cluster/member/remove', {'ID': m['ID']})
            mine = []
    if not mine:
        members = call(url, '/v3/cluster/member/add', {'peerURLs': [my_url]}).get('members', [])
    # A member that has not started has no name yet: /etc/default/etcd's list knows it.
    known = {}
    for entry in env['ETCD_INITIAL_CLUSTER'].split(','):
        n, _, u = entry.partition('=')
        known[u] = n
    names = []
    for m in members:
        for u in m.get('peerURLs', []):
            n = name if u == my_url else (m.get('name') or known.get(u))
            if not n:
                print('etcd-boot: member %s at %s has no name: it was added by someone else and has not started' % (m.get('ID'), u), file=sys.stderr)
                return None
            names.append('%s=%s' % (n, u))
    return 'existing', ','.join(names)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
