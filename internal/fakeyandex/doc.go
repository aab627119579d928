// Package fakeyandex is pghac's offline stand-in for the Yandex Cloud
// Terraform provider (yandex-cloud/yandex, ProviderVersion): a provider
// built on terraform-plugin-go (protocol 6) that serves the real provider's
// schema, vendored as yandex-schema.json and embedded, so that the real
// terraform binary can init, validate, plan, apply and destroy pghac's
// deploy/yandex with no network and no credentials. Tests use it through
// infra/infratest; users get it as `pghac plan --offline`, whose output
// must say that it is offline.
//
// What it does:
//   - Serves every resource and data source of the JSON except those
//     removed before ProviderVersion (yandex_loadtesting_agent); attribute
//     types and flags, block nesting and limits, sensitivity, deprecation
//     and descriptions round-trip exactly (`terraform providers schema -json`).
//     Terraform core therefore reports, from the schema alone, unknown
//     resource types and arguments (with "Did you mean"), missing required
//     arguments and blocks, too many blocks, and wrong value types.
//   - Plans like the real provider: SDKv2 resources get their schema
//     defaults (with the legacy-SDK flag Terraform requires for that),
//     framework resources the literal defaults of their computed
//     attributes (the KMS key's default_algorithm), computed attributes
//     left null become "known after apply", SDKv2 Optional+Computed
//     blocks left out keep their prior value, set elements
//     (security-group rules) are matched to prior elements so an unchanged
//     rule keeps its computed id, and force_new attributes (and force_new
//     blocks whose element count changes) that differ are reported as
//     requiring replacement, as are framework RequiresReplaceIfConfigured
//     attributes when configured.
//   - Applies by filling every unknown with a fake: "fake<16 hex>" ids
//     (random per object), fixed timestamps, addresses from 192.0.2.0/24
//     (TEST-NET-1), "fake-<name>" strings, 0, false, empty collections.
//     Destroy returns null. Reads return the state unchanged.
//   - Keeps out of the state what an output_to_lockbox block sends to
//     Lockbox, as the real provider does (yandex/lockbox_outputs.go): with
//     the block set, a static access key's secret_key and access_key are
//     applied as "" and output_to_lockbox_version_id gets a fake id; without
//     it they get fakes like any computed string. The check is the
//     schema's, not per resource: every entry_for_<attr> in the block.
//   - Reads data sources by echoing the configuration with computed values
//     faked from a hash of the type and configuration: the same image
//     family always yields the same image id, so plans stay stable.
//   - Validates, in the provider, the part of the real provider's rules
//     that the schema states literally: validators given by literal
//     arguments (IntBetween, IntAtLeast, FloatAtLeast, StringLenBetween,
//     StringInSlice over string literals, the framework's LengthBetween and
//     regex), ConflictsWith and ExactlyOneOf resolved as
//     terraform-plugin-sdk/v2 resolves them (a key through a list block
//     without an index never matches, so the fake, like the real provider,
//     does not enforce "boot_disk.initialize_params" vs "boot_disk.disk_id"),
//     "Argument is deprecated" warnings, and the compute image data source's
//     rule that exactly one of image_id, family and name is set. Unknown
//     values are not checked, as in the SDK. Messages are the SDK's, except
//     for FloatAtLeast (the provider's own function) and the image rule,
//     which are worded by the fake.
//
// What it does not check (the real provider or the cloud would):
//   - Validators that are Go identifiers or the provider's own functions:
//     validation.All(...) with regexps (lockbox keys), StringInSlice over
//     named lists (storage classes, ACLs, object-lock modes), OneOf over
//     the KMS API's enums (key algorithm, status), IsRFC3339Time, JSON
//     policies, lifecycle timestamps, PCI topology, label key/value syntax
//     of the framework resources (service account, KMS key).
//     TestValidatorCoverage lists them.
//   - Whole-number-ness of integer attributes outside the validators above
//     (the protocol has one number type).
//   - Anything the API decides: quotas, name uniqueness, CIDR overlaps,
//     whether an image family, zone, platform or subnet exists, which
//     cores/memory/core_fraction combinations a platform allows, addresses
//     inside their subnet, security-group rule semantics, NLB target health.
//   - Values a real apply returns: fake ids and addresses mean nothing; an
//     image's min_disk_size is 0; Optional+Computed blocks the configuration
//     omits stay empty where the cloud would fill them in.
//   - Lockbox contents: no secret version exists, so removing an
//     output_to_lockbox block leaves the outputs empty where the real
//     provider would restore them from the version.
//   - Drift: nothing exists outside Terraform's state. Import, resource
//     move, resource identity, ephemeral resources and functions are not
//     supported. Timeouts are accepted and ignored.
//
// State written against the fake describes nothing real and must never
// meet the real provider: pghac's offline mode keeps its working directory,
// lock file and state apart from the user's (see WriteMirror).
package fakeyandex
