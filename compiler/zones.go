package compiler

// zones are the Yandex Cloud availability zones a node may use.
var zones = []string{"ru-central1-a", "ru-central1-b", "ru-central1-d", "ru-central1-e"}

// retiredZones maps a zone that no longer takes new resources to its replacement.
var retiredZones = map[string]string{
	"ru-central1-c": "ru-central1-d",
}
