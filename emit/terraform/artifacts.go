package terraform

import (
	"fmt"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/tfwrite"
)

// pghac's own builds, uploaded by the module: the backend every node runs and the pghac the
// load generator runs, when cluster.hcl gives no artifact block for them. Their files and
// checksums are variables that pghac passes at plan time, so the committed tree stays the same
// whatever was built; the VMs download them with their service accounts' tokens.

// Variables of artifacts.tf: the local build's path, and its checksum, of each upload.
const (
	VarBackendArtifactPath = "backend_artifact_path"
	VarPghacArtifactPath   = "pghac_artifact_path"
)

// BuildSHA256Var is the variable of the checksum of the build whose path is pathVar.
func BuildSHA256Var(pathVar string) string {
	switch pathVar {
	case VarBackendArtifactPath:
		return model.BackendSHA256Var
	case VarPghacArtifactPath:
		return model.PghacSHA256Var
	}
	return ""
}

const (
	typeStorageObject = "yandex_storage_object"

	artifactsName       = "artifacts"
	loadgenAccountName  = "loadgen"
	backendArtifactName = "backend"
	pghacArtifactName   = "pghac"

	// ObjectStorageEndpoint is where the VMs download the objects, with an IAM token in
	// lockbox.StorageTokenHeader.
	ObjectStorageEndpoint = "https://storage.yandexcloud.net"
	// roleArtifacts reads objects and nothing more.
	roleArtifacts = "storage.viewer"
	// maxBucketNameLen is Object Storage's limit; folderIDLen the length of a folder's id.
	maxBucketNameLen = 63
	folderIDLen      = 20
)

// upload is one local build the module uploads.
type upload struct {
	name               string // the object's resource name
	key                string // the object's key in the bucket
	pathVar, sha256Var string
	urlVar             string // the user-data template variable of its URL
	account            string // the service account its VMs read it as
	what               string
}

// uploads are the local builds c's module uploads.
func uploads(c *model.Cluster) []upload {
	var us []upload
	if c.Backend != nil && c.Backend.LocalBuild {
		us = append(us, upload{name: backendArtifactName, key: "pghac-backend", pathVar: VarBackendArtifactPath, sha256Var: model.BackendSHA256Var,
			urlVar: model.BackendURLVar, account: nodesAccountName, what: "the backend binary (pghac-backend) every node runs"})
	}
	if c.LoadGenerator != nil && c.LoadGenerator.LocalBuild {
		us = append(us, upload{name: pghacArtifactName, key: "pghac", pathVar: VarPghacArtifactPath, sha256Var: model.PghacSHA256Var,
			urlVar: model.PghacURLVar, account: loadgenAccountName, what: "the pghac binary the load generator runs"})
	}
	return us
}

// findUpload is the upload of c named name, nil when c's module does not upload it.
func findUpload(c *model.Cluster, name string) *upload {
	for _, u := range uploads(c) {
		if u.name == name {
			return &u
		}
	}
	return nil
}

// artifactVars are the template variables that tell a VM's user-data where u is and what its
// checksum is.
func artifactVars(u upload) []tfwrite.Item {
	return []tfwrite.Item{
		{Key: u.urlVar, Value: tfwrite.Template(ObjectStorageEndpoint+"/", tfwrite.ResourceRef(typeBucket, artifactsName, "bucket"), "/"+u.key)},
		{Key: u.sha256Var, Value: tfwrite.Ref("var", u.sha256Var)},
	}
}

// artifacts writes artifacts.tf: the bucket of the local builds, one object per build, and the
// read grant of the accounts whose VMs download them.
func (m *module) artifacts(b *hclwrite.Body) error {
	// Bucket names are global: the folder's id makes this one the folder's, and unlike a
	// bucket_prefix it is known at plan time, so is every VM's user-data that names it.
	if n := len(m.name(artifactsName)) + 1 + folderIDLen; n > maxBucketNameLen {
		return fmt.Errorf("artifacts bucket name %s-<folder id> would be %d characters, more than Object Storage's %d: shorten the cluster's name",
			m.name(artifactsName), n, maxBucketNameLen)
	}
	var members []hclwrite.Tokens
	for _, u := range uploads(m.c) {
		p := tfwrite.Block(b, nil, "variable", u.pathVar)
		p.SetAttributeRaw("type", hclwrite.TokensForIdentifier("string"))
		p.SetAttributeValue("description", cty.StringVal(fmt.Sprintf(
			"Absolute path of %s, uploaded to the artifacts bucket. pghac plan and apply pass their own build.", u.what)))
		s := tfwrite.Block(b, nil, "variable", u.sha256Var)
		s.SetAttributeRaw("type", hclwrite.TokensForIdentifier("string"))
		s.SetAttributeValue("description", cty.StringVal(fmt.Sprintf(
			"SHA-256 of %s as pghac computed it at plan time; a VM refuses any other download.", u.what)))
		val := tfwrite.Block(s, nil, "validation")
		val.SetAttributeRaw("condition", tfwrite.Call("can", tfwrite.Call("regex", tfwrite.Str("^[0-9a-f]{64}$"), tfwrite.Ref("var", u.sha256Var))))
		val.SetAttributeValue("error_message", cty.StringVal("Give 64 lowercase hexadecimal digits, as sha256sum prints them."))
	}

	bucket := tfwrite.Block(b, []string{
		"pghac's builds the VMs download.",
	}, "resource", typeBucket, artifactsName)
	bucket.SetAttributeRaw("bucket", tfwrite.Template(m.name(artifactsName)+"-", tfwrite.Ref("var", varFolderID)))
	bucket.SetAttributeRaw("folder_id", tfwrite.Ref("var", varFolderID))
	tfwrite.Comment(bucket, "It holds nothing that a build cannot make again.")
	bucket.SetAttributeValue("force_destroy", cty.True)
	bucket.SetAttributeRaw("tags", m.labels("role", artifactsName))
	noAnonymousAccess(bucket, "No anonymous access of any kind: the VMs read as their service accounts.")

	for _, u := range uploads(m.c) {
		o := tfwrite.Block(b, []string{
			fmt.Sprintf("Uploads %s. A new build is a new checksum, which uploads it again.", u.what),
		}, "resource", typeStorageObject, u.name)
		o.SetAttributeRaw("bucket", tfwrite.ResourceRef(typeBucket, artifactsName, "bucket"))
		o.SetAttributeValue("key", cty.StringVal(u.key))
		o.SetAttributeRaw("source", tfwrite.Ref("var", u.pathVar))
		o.SetAttributeRaw("source_hash", tfwrite.Ref("var", u.sha256Var))
		o.SetAttributeValue("content_type", cty.StringVal("application/octet-stream"))
		members = append(members, tfwrite.Template("serviceAccount:", tfwrite.ResourceRef(typeServiceAccount, u.account, "id")))
	}

	if findUpload(m.c, pghacArtifactName) != nil {
		sa := tfwrite.Block(b, []string{
			"The load generator's account: it reads the pghac object and nothing else (none of the",
			"cluster's secrets, which are the nodes' account's).",
		}, "resource", typeServiceAccount, loadgenAccountName)
		sa.SetAttributeValue("name", cty.StringVal(m.name(loadgenAccountName)))
		sa.SetAttributeValue("description", cty.StringVal(fmt.Sprintf("Load generator of cluster %s: downloads pghac.", m.c.Name)))
		sa.SetAttributeRaw("labels", m.labels())
	}

	grant := tfwrite.Block(b, []string{
		"The VMs' accounts may read the bucket's objects. The binding holds every member of the",
		"role on the bucket.",
	}, "resource", typeBucketIAMBinding, artifactsName)
	grant.SetAttributeRaw("bucket", tfwrite.ResourceRef(typeBucket, artifactsName, "bucket"))
	grant.SetAttributeValue("role", cty.StringVal(roleArtifacts))
	grant.SetAttributeRaw("members", tfwrite.Tuple(members...))

	for _, u := range uploads(m.c) {
		// Named as the template variable: pghac records it after apply and renders the
		// nodes' files with it, so that a rollout installs a new build from there.
		o := tfwrite.Block(b, nil, "output", u.urlVar)
		o.SetAttributeValue("description", cty.StringVal(fmt.Sprintf("Where the VMs download %s.", u.what)))
		o.SetAttributeRaw("value", artifactVars(u)[0].Value)
	}
	return nil
}

// artifactDeps are what a VM that downloads u needs before it boots: the object, and the grant
// to read it.
func artifactDeps(u upload) []hclwrite.Tokens {
	return []hclwrite.Tokens{tfwrite.Ref(typeStorageObject, u.name), tfwrite.Ref(typeBucketIAMBinding, artifactsName)}
}
