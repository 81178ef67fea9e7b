package awsenv

import (
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestNamesFrom_DefaultsAndOverrides(t *testing.T) {
	n := NamesFrom(env(nil))
	if n.Table != "contactsync" || n.PagesQueue != "contactsync-pages" || n.OutboxQueue != "contactsync-outbox" {
		t.Errorf("defaults = %+v", n)
	}
	n = NamesFrom(env(map[string]string{EnvTable: "t1", EnvPagesQueueURL: "http://q/1"}))
	if n.Table != "t1" || n.PagesQueueURL != "http://q/1" {
		t.Errorf("overrides = %+v", n)
	}
}

func TestLocalEndpoint(t *testing.T) {
	if LocalEndpoint(env(nil)) {
		t.Error("no endpoint configured: want false")
	}
	if !LocalEndpoint(env(map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566"})) {
		t.Error("AWS_ENDPOINT_URL set: want true")
	}
}
