package soak

import (
	"testing"
	"time"
)

// TestWithAuth: the token WithAuth mints is accepted by its authenticator
// and entitles its holder to every topic of the soak, and no other account.
func TestWithAuth(t *testing.T) {
	o := Options{Topics: 3, Timeout: time.Minute}
	if err := o.WithAuth(); err != nil {
		t.Fatal(err)
	}
	p, err := o.Authenticator.Authenticate(o.Token)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"orders.soak0", "orders.soak1", "orders.soak2"} {
		if !p.CanSubscribe(topic) {
			t.Errorf("token cannot subscribe to %s", topic)
		}
	}
	if p.CanSubscribe("orders.soak3") || p.Admin() {
		t.Errorf("token entitles too much: %+v", p)
	}
}
