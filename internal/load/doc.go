// Package load is pghac's load runner: it reads a Yandex Tank load bundle (load.yaml plus
// ammo, the format pghac emits under deploy/<target>/loadtest/<scenario>/ and that Tank
// itself runs), fires it at the target with vegeta as the HTTP engine, watches Tank's
// autostop criteria each second, and writes the reports.
//
// The pieces, in the order `pghac loadtest` uses them:
//
//   - LoadConfig / ParseConfig: the phantom and autostop sections of a load.yaml, with
//     Tank's defaults and rules (exactly one of uris and ammofile, ammo type detection,
//     address forms); every error names the file and line of the offending key.
//   - ParseSchedule: Tank's rps schedule grammar (line, const, step). A Schedule knows the
//     exact time of every hit (the integral of the rate, as Tank's stepper computes it), so
//     the pacer sends the same hits at the same times Tank would: an open model, requests
//     per second over time whatever the target's latency.
//   - Config.ReadAmmo and the readers ReadPhantomAmmo, ReadURIAmmo, ReadURIPostAmmo,
//     ReadAccessAmmo: ammo to []Request, with the Host header rewritten to the target.
//   - Run: the test. vegeta's attacker with a Pacer that follows the schedule and at most
//     `instances` requests in flight; results aggregated per second (codes, network
//     errors by kind, exact latency quantiles); autostop evaluated on each completed second
//     as Tank does; live progress; Ctrl-C (context cancellation) stops and still reports.
//   - Result: WriteText, WriteJSON and WriteHTML (self-contained, inline SVG charts made
//     with gonum/plot), or WriteReports for all three into a directory.
//
// It knows nothing of cluster.hcl, the model or the CLI; it reads only the bundle.
package load
