package bulksync

import (
	"testing"

	"github.com/contactsync/contactsync/pkg/resources"
)

// Every page of a batch starts when its invocation does: the handler
// works on as many messages at once as the event source delivers in a
// batch, so none waits for a slot and runs out of the invocation's time
// (which burns a receive each time and, under load, dead-letters it).
func TestHandler_WorksOnAWholeBatchAtOnce(t *testing.T) {
	f, ok := resources.FunctionByName("bulksync")
	if !ok {
		t.Fatal("no bulksync function in resources")
	}
	h := New(Deps{})
	if h.d.Concurrency < f.EventSource.BatchSize {
		t.Errorf("a batch of %d pages is worked on %d at a time: the last start late", f.EventSource.BatchSize, h.d.Concurrency)
	}
	if per := resources.MessageTimeout("bulksync") + resources.MessageReserve("bulksync"); per > f.Timeout {
		t.Errorf("a page's deadline and reserve (%s) exceed the invocation's %s", per, f.Timeout)
	}
}
