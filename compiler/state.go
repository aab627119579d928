package compiler

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// bucketRE is Object Storage's rule for bucket names (S3's, without the dotted-IP form).
var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// lockTableRE is what a YDB table name may be through the Document API (DynamoDB's rule).
var lockTableRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)

// validBucket reports whether name is a bucket name Object Storage accepts.
func validBucket(name string) bool {
	return bucketRE.MatchString(name) && !strings.Contains(name, "..")
}

func compileState(d *diags, sc *schema.Cluster) *model.State {
	ss := sc.State
	if ss == nil {
		return nil
	}
	st := &model.State{Bucket: ss.Bucket, Key: deref(ss.Key, "pghac/"+sc.Name+"/terraform.tfstate"), DeclRange: ss.DefRange}
	if !validBucket(st.Bucket) {
		d.invalidBucket(ss.BucketRange, st.Bucket)
	}
	if st.Key == "" || strings.HasPrefix(st.Key, "/") || strings.HasSuffix(st.Key, "/") {
		d.invalidStateKey(ss.KeyRange, st.Key)
	}
	st.LockTable, st.LockEndpoint = deref(ss.LockTable, ""), deref(ss.LockEndpoint, "")
	switch {
	case ss.LockTable == nil && ss.LockEndpoint == nil:
		d.stateUnlocked(ss.DefRange)
	case ss.LockTable == nil:
		d.lockHalf(ss.LockEndpointRange, "lock_endpoint", "lock_table")
	case ss.LockEndpoint == nil:
		d.lockHalf(ss.LockTableRange, "lock_table", "lock_endpoint")
	}
	if ss.LockTable != nil && !lockTableRE.MatchString(st.LockTable) {
		d.invalidLockTable(ss.LockTableRange, st.LockTable)
	}
	if ss.LockEndpoint != nil {
		if u, err := url.Parse(st.LockEndpoint); err != nil || u.Scheme != "https" || u.Host == "" {
			d.invalidLockEndpoint(ss.LockEndpointRange, st.LockEndpoint)
		}
	}
	return st
}
