package auth

import (
	"errors"
	"testing"

	"tickwire/orderwire"
)

func TestCanSubscribe(t *testing.T) {
	trader := &Principal{Subject: "ann", Roles: []string{RoleTrader}, Accounts: []string{"ACC1", "a b"}, Topics: []string{"EUR*", "fx.*"}}
	desk := &Principal{Subject: "dan", Roles: []string{RoleDesk}}
	viewer := &Principal{Subject: "vic"}
	admin := &Principal{Subject: "root", Roles: []string{RoleAdmin}}
	cases := []struct {
		p     *Principal
		topic string
		want  bool
	}{
		{trader, "orders.ACC1", true},
		{trader, "orders.a:20b", true}, // the account "a b", as orderwire.AccountTopic maps it
		{trader, "orders.a_b", false},  // another account's
		{trader, "orders.ACC2", false},
		{trader, "orders.ACC1x", false},
		{trader, "orders.", false},
		{trader, "EURUSD", true},
		{trader, "fx.GBP", true},
		{trader, "GBPUSD", false},
		{trader, "requests.orders", false},
		{desk, "orders.ANY", true},
		{desk, "GBPUSD", true}, // no patterns: all market data
		{desk, "requests.orders", false},
		{viewer, "GBPUSD", true},
		{viewer, "orders.X", false},
		{viewer, "requests.x", false},
		{admin, "orders.X", true},
		{admin, "anything", true},
		{admin, "requests.orders", false}, // never: nothing is published there
		{Anonymous(), "orders.DEMO", true},
	}
	for _, c := range cases {
		if got := c.p.CanSubscribe(c.topic); got != c.want {
			t.Errorf("%s CanSubscribe(%q) = %v, want %v", c.p.Subject, c.topic, got, c.want)
		}
	}
}

func TestCanPublish(t *testing.T) {
	pub := &Principal{Subject: "feed", Roles: []string{RolePublisher}, Topics: []string{"EUR*"}}
	pubAll := &Principal{Subject: "feed2", Roles: []string{RolePublisher}}
	trader := &Principal{Subject: "ann", Roles: []string{RoleTrader, RoleDesk}, Accounts: []string{"A"}}
	admin := &Principal{Subject: "root", Roles: []string{RoleAdmin}}
	cases := []struct {
		p     *Principal
		topic string
		want  bool
	}{
		{pub, "EURUSD", true},
		{pub, "GBPUSD", false},
		{pubAll, "GBPUSD", true},
		{pubAll, "orders.A", false},
		{pubAll, "requests.orders", false},
		{trader, "EURUSD", false},
		{trader, "orders.A", false},
		{admin, "orders.A", true},
		{Anonymous(), "EURUSD", true},
	}
	for _, c := range cases {
		if got := c.p.CanPublish(c.topic); got != c.want {
			t.Errorf("%s CanPublish(%q) = %v, want %v", c.p.Subject, c.topic, got, c.want)
		}
	}
}

func TestAuthorizeOrder(t *testing.T) {
	trader := &Principal{Subject: "ann", Roles: []string{RoleTrader}, Accounts: []string{"A"}}
	desk := &Principal{Subject: "dan", Roles: []string{RoleDesk}}
	both := &Principal{Subject: "demo", Roles: []string{RoleTrader, RoleDesk}, Accounts: []string{"DEMO"}}
	admin := &Principal{Subject: "root", Roles: []string{RoleAdmin}}
	cases := []struct {
		p       *Principal
		action  orderwire.Action
		account string
		ok      bool
	}{
		{trader, orderwire.ActionNew, "A", true},
		{trader, orderwire.ActionCancel, "A", true},
		{trader, orderwire.ActionReplace, "A", true},
		{trader, orderwire.ActionNew, "B", false},
		{trader, orderwire.ActionDeskFill, "", false},
		{desk, orderwire.ActionDeskAccept, "", true},
		{desk, orderwire.ActionNew, "A", false}, // no trader role
		{both, orderwire.ActionNew, "DEMO", true},
		{both, orderwire.ActionDeskBust, "", true},
		{admin, orderwire.ActionNew, "ANY", true},
		{admin, orderwire.ActionDeskCancel, "", true},
	}
	for _, c := range cases {
		err := c.p.AuthorizeOrder(c.action, c.account)
		if (err == nil) != c.ok {
			t.Errorf("%s AuthorizeOrder(%s, %q) = %v, want ok=%v", c.p.Subject, c.action, c.account, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrNotEntitled) {
			t.Errorf("%s AuthorizeOrder(%s): %v does not wrap ErrNotEntitled", c.p.Subject, c.action, err)
		}
	}
}

func TestHasAndAdmin(t *testing.T) {
	p := &Principal{Roles: []string{RoleTrader, "unknown-role"}}
	if !p.Has(RoleTrader) || p.Has(RoleDesk) || p.Admin() {
		t.Fatalf("roles %v: Has/Admin wrong", p.Roles)
	}
	if a := Anonymous(); !a.Admin() || !a.Has(RoleDesk) || a.Method != MethodNone {
		t.Fatalf("Anonymous() = %+v: want an admin of method none", a)
	}
}
