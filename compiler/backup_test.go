package compiler

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"

	"github.com/pghac/pghac/compiler/model"
)

// withBackup replaces threeNodes' backup block with body's.
func withBackup(body string) string {
	return strings.Replace(threeNodes, "  backup {\n    bucket = \"pghac-test-main\"\n  }", "  backup {\n"+body+"\n  }", 1)
}

func TestBackupDefaults(t *testing.T) {
	c, diags := compile(t, threeNodes)
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	want := &model.Backup{
		Stanza: "main", Bucket: "pghac-test-main", Endpoint: "storage.yandexcloud.net", Port: 443, Region: "ru-central1",
		Path:        "/pgbackrest",
		Full:        model.Schedule{Calendar: "Sun *-*-* 03:00:00", Written: "Sun 03:00", Weekdays: []time.Weekday{time.Sunday}},
		Partial:     model.Schedule{Calendar: "Mon,Tue,Wed,Thu,Fri,Sat *-*-* 03:00:00", Written: "Mon..Sat 03:00", Weekdays: []time.Weekday{1, 2, 3, 4, 5, 6}},
		PartialType: "diff", RetentionDays: 14, ArchiveTimeout: time.Minute,
		ArchiveQueueMax: 5 << 30, // a quarter of the default 20 GB disk
		Compression:     "zst", CompressLevel: 3, DeletionProtection: true,
	}
	if diff := cmp.Diff(want, c.Backup, cmpopts.IgnoreTypes(hcl.Range{})); diff != "" {
		t.Errorf("backup (-want +got):\n%s", diff)
	}
	params := map[string]string{}
	for _, p := range c.Postgres.Parameters {
		params[p.Name] = p.Value
	}
	if params["archive_mode"] != "on" || params["archive_command"] != "pgbackrest --stanza=main archive-push %p" || params["archive_timeout"] != "60s" {
		t.Errorf("archiving parameters: %v", params)
	}
	if !c.IsSecret(string(model.SecretBackupAccessKey)) || !c.IsSecret(string(model.SecretBackupSecretKey)) {
		t.Errorf("the S3 key pair is not among the secrets: %v", c.Secrets())
	}

	// The sandbox serves its own S3 on the bridge, and names the bucket itself.
	sb, diags := compileFor(t, strings.Replace(threeNodes, "    bucket = \"pghac-test-main\"\n", "", 1), model.TargetSandbox)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if sb.Backup.Endpoint != "10.213.0.1" || sb.Backup.Port != model.SandboxS3Port || sb.Backup.Bucket != "pghac-main" {
		t.Errorf("sandbox repository: %+v", sb.Backup)
	}
}

func TestBackupOff(t *testing.T) {
	c, diags := compile(t, withBackup("    enabled = false"))
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	if c.Backup != nil || c.IsSecret(string(model.SecretBackupAccessKey)) {
		t.Errorf("backups off still has %+v, secrets %v", c.Backup, c.Secrets())
	}
	for _, p := range c.Postgres.Parameters {
		if strings.HasPrefix(p.Name, "archive_") {
			t.Errorf("backups off still sets %s", p.Name)
		}
	}
	// Off, the archive settings are the user's.
	src := strings.Replace(withBackup("    enabled = false"), "  network {", "  postgres {\n    parameters {\n      archive_mode = \"on\"\n    }\n  }\n  network {", 1)
	if _, diags := compile(t, src); diags.HasErrors() {
		t.Errorf("archive_mode with backups off: %v", diags)
	}
}

func TestBackupSchedules(t *testing.T) {
	for _, tt := range []struct {
		in       string
		calendar string
		interval int
	}{
		{"daily", "Sun,Mon,Tue,Wed,Thu,Fri,Sat *-*-* 00:00:00", 1},
		{"weekly", "Mon *-*-* 00:00:00", 7},
		{"Sat,Sun 1:30", "Sun,Sat *-*-* 01:30:00", 6},
		{"mon,Wed..Fri 23:59", "Mon,Wed,Thu,Fri *-*-* 23:59:00", 3},
	} {
		s, err := parseSchedule(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if s.Calendar != tt.calendar || fullInterval(s) != tt.interval {
			t.Errorf("%q: %q every %d days, want %q every %d", tt.in, s.Calendar, fullInterval(s), tt.calendar, tt.interval)
		}
	}
}

func TestBackupErrors(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		target     model.Target
		summary    string
		detail     string
		line       int // the backup block opens at line 21; its first attribute is line 22
	}{
		{"no bucket", "", model.TargetYandex, "Missing backup bucket", "Set bucket", 21},
		{"bad bucket", `    bucket = "My_Backups"`, model.TargetYandex, "Invalid bucket name", `"My_Backups"`, 22},
		{"both partials", "    bucket = \"b-1\"\n    differential = \"Mon 03:00\"\n    incremental = \"Tue 03:00\"", model.TargetYandex,
			"Differential and incremental backups together", "already set at cluster.hcl:23", 24},
		{"bad day", "    bucket = \"b-1\"\n    full = \"Sunday 03:00\"", model.TargetYandex, "Invalid backup schedule", `full: "Sunday" is not a day`, 23},
		{"bad time", "    bucket = \"b-1\"\n    full = \"Sun 3am\"", model.TargetYandex, "Invalid backup schedule", `"3am" is not a time of day`, 23},
		{"backwards", "    bucket = \"b-1\"\n    differential = \"Sat..Mon 03:00\"", model.TargetYandex, "Invalid backup schedule", "runs backwards", 23},
		{"short retention", "    bucket = \"b-1\"\n    retention = \"3d\"", model.TargetYandex,
			"Retention shorter than the full-backup interval", `full backups ("Sun 03:00") are up to 7 days apart`, 23},
		{"bad retention", "    bucket = \"b-1\"\n    retention = \"2 weeks\"", model.TargetYandex, "Invalid retention", "not a number of days", 23},
		{"queue over half the disk", "    bucket = \"b-1\"\n    archive_queue_max = \"11GB\"", model.TargetYandex, "WAL archive queue too large", "(20 GB)", 23},
		{"queue under a segment", "    bucket = \"b-1\"\n    archive_queue_max = \"1MB\"", model.TargetYandex, "WAL archive queue too small", "16MB", 23},
		{"compression", "    bucket = \"b-1\"\n    compression = \"xz\"", model.TargetYandex, "Invalid compression", "bz2, gz, lz4, none, zst", 23},
		{"level", "    bucket = \"b-1\"\n    compression = \"gz\"\n    compression_level = 12", model.TargetYandex, "Invalid compression level", "gz takes levels 0 to 9", 24},
		{"state bucket", "    bucket = \"b-1\"\n  }\n  state {\n    bucket = \"b-1\"", model.TargetYandex, "Backups in the Terraform state bucket", "(cluster.hcl:25)", 22},
		{"archive timeout", "    bucket = \"b-1\"\n    archive_timeout = \"500ms\"", model.TargetSandbox, "Invalid duration", "whole number of 1s", 23},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := compileFor(t, withBackup(tt.body), tt.target)
			// A state block without a lock is warned about too, and is not what this test is for.
			diags = slices.DeleteFunc(diags, func(d *hcl.Diagnostic) bool { return d.Summary == "Terraform state not locked" })
			if len(diags) != 1 || diags[0].Summary != tt.summary || !strings.Contains(diags[0].Detail, tt.detail) ||
				diags[0].Subject == nil || diags[0].Subject.Start.Line != tt.line {
				t.Errorf("%v; want one %q containing %q at line %d", diags, tt.summary, tt.detail, tt.line)
			}
		})
	}
}

// TestArchiveParametersOwned: while backups are on, the postgres block may not turn the WAL
// archive off or redirect it; the error points at the parameter.
func TestArchiveParametersOwned(t *testing.T) {
	src := strings.Replace(threeNodes, "  network {", "  postgres {\n    parameters {\n      archive_mode = \"off\"\n    }\n  }\n  network {", 1)
	_, diags := compile(t, src)
	if len(diags) != 1 || diags[0].Summary != "Parameter owned by the backup block" || diags[0].Subject.Start.Line != 5 {
		t.Errorf("%v; want one error at line 5", diags)
	}
}
