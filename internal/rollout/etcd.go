package rollout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// etcdMember is one member of the etcd cluster, as etcdctl lists it.
type etcdMember struct {
	ID       uint64
	Name     string // "" for a member added that has not started yet
	PeerURLs []string
}

// etcdEnv is etcd's environment file on every node (emit/etcd's EnvPath).
const etcdEnv = "/etc/default/etcd"

// The node's own etcdctl (Debian's etcd-client, v3 API) talks to the local member on its
// default endpoint, 127.0.0.1:2379, where every node's etcd listens for local clients.
const etcdMemberList = "etcdctl member list -w json"

// etcdMembers lists the etcd cluster's members through the node c is connected to. A
// member added that never started has no name in etcd's list (its machine died before its
// etcd ran): it gets the name whose peer URL it has in ETCD_INITIAL_CLUSTER of c's etcd
// environment, which lists every node's, as the boot script does.
func etcdMembers(ctx context.Context, c Conn) ([]etcdMember, error) {
	out, err := c.Run(ctx, etcdMemberList, nil)
	if err != nil {
		return nil, fmt.Errorf("listing etcd's members: %w", err)
	}
	ms, err := parseEtcdMembers(out)
	if err != nil || !slices.ContainsFunc(ms, func(m etcdMember) bool { return m.Name == "" }) {
		return ms, err
	}
	files, err := c.ReadFiles(ctx, []string{etcdEnv})
	if err != nil {
		return nil, fmt.Errorf("reading %s for the names of etcd members that have not started: %w", etcdEnv, err)
	}
	names := initialCluster(files[etcdEnv].Content)
	for i, m := range ms {
		for _, u := range m.PeerURLs {
			if n, ok := names[u]; ok && m.Name == "" {
				ms[i].Name = n
			}
		}
	}
	return ms, nil
}

// parseEtcdMembers reads `etcdctl member list -w json`. The IDs are JSON numbers that need
// all 64 bits: decoded as uint64, never as float64.
func parseEtcdMembers(out []byte) ([]etcdMember, error) {
	var list struct {
		Members []struct {
			ID       uint64   `json:"ID"`
			Name     string   `json:"name"`
			PeerURLs []string `json:"peerURLs"`
		} `json:"members"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("etcdctl's member list: %w", err)
	}
	if len(list.Members) == 0 {
		return nil, fmt.Errorf("etcdctl's member list has no members: %.200q", out)
	}
	ms := make([]etcdMember, len(list.Members))
	for i, m := range list.Members {
		ms[i] = etcdMember{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs}
	}
	return ms, nil
}

// removeEtcdMember removes the member named name (etcdMembers) through the node c is
// connected to. It reports false when there is none by that name (removed already: a resumed
// removal).
func removeEtcdMember(ctx context.Context, c Conn, name string) (bool, error) {
	ms, err := etcdMembers(ctx, c)
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if m.Name == name {
			// etcdctl takes the ID in hex, as it prints it in its table.
			if _, err := c.Run(ctx, "etcdctl member remove "+strconv.FormatUint(m.ID, 16), nil); err != nil {
				return false, fmt.Errorf("removing %s's etcd member: %w", name, err)
			}
			return true, nil
		}
	}
	return false, nil
}

// initialCluster is ETCD_INITIAL_CLUSTER of an etcd environment file: the names by peer URL.
func initialCluster(env []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(env))
	for sc.Scan() {
		v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "ETCD_INITIAL_CLUSTER=")
		if !ok {
			continue
		}
		for _, pair := range strings.Split(strings.Trim(v, `"'`), ",") {
			if n, u, ok := strings.Cut(pair, "="); ok {
				out[u] = n
			}
		}
	}
	return out
}
