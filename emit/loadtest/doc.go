// Package loadtest emits the load-test bundle: for every load_test block a Yandex Tank
// load.yaml (phantom generator, rps schedule, autostop criteria) and the phantom ammo it fires,
// under loadtest/<name>/ in the deploy tree; package emit also hands the bundle to the load
// generator's user-data. yandex-tank runs a bundle as it is; so does `pghac loadtest`.
// The ammo is a pure function of the model, so a bundle diffs like any other artifact.
package loadtest
