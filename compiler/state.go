package compiler

import (
	"regexp"
	"strings"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// bucketRE is Object Storage's rule for bucket names (S3's, without the dotted-IP form).
var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

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
	return st
}
