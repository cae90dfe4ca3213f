package fix_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"tickwire/fix/order"
)

// TestJspurefixCounterparty runs an independent FIX engine, jspurefix
// (Node, installed by `make fix-deps` into fix/jspurefix/node_modules), as
// the counterparty: it sends D, G and F and checks the 8 and 9 replies
// (fix/jspurefix/counterparty.js), asking this test to work its desk orders
// (deskWork). Without node or node_modules the test is skipped, except
// under CI=true where it fails.
func TestJspurefixCounterparty(t *testing.T) {
	if testing.Short() {
		t.Skip("a node.js counterparty process: slow; make test runs it")
	}
	node, dir := jspurefix(t)

	r := newRig(t, withoutClient())
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(c, node, "counterparty.js",
		"--host", "127.0.0.1", "--port", strconv.Itoa(r.port),
		"--sender", r.clID, "--target", r.gwID, "--timeout-ms", "40000")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	session := "FIX.4.4:" + r.gwID + "->" + r.clID
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if op, ok := strings.CutPrefix(line, "DESK "); ok {
			answer := "ok"
			if err := deskWork(t, r, session, strings.Fields(op)); err != nil {
				answer = "err " + err.Error()
			}
			fmt.Fprintln(stdin, answer)
		}
	}
	err = cmd.Wait()
	text := out.String() + stderr.String()
	if err != nil || !strings.Contains(text, "RESULT pass") {
		t.Fatalf("jspurefix counterparty failed (%v):\n%s", err, text)
	}
	t.Logf("jspurefix counterparty:\n%s", text)

	// The gateway's view agrees: one filled order, one canceled.
	o, ok, err := r.gw.Lookup(ctx(t), session, "JS1")
	if err != nil || !ok || o.Status() != '2' {
		t.Fatalf("JS1 in the gateway: %+v %v %v", o, ok, err)
	}
	o, ok, err = r.gw.Lookup(ctx(t), session, "JS5")
	if err != nil || !ok || o.Status() != '4' || o.OrderQty.String() != "20" {
		t.Fatalf("JS2/JS3/JS5 in the gateway: %+v %v %v", o, ok, err)
	}
	// No change is left pending on the desk orders that ended.
	for _, cl := range []string{"JD1", "JR1", "JK1", "JF1", "JU1", "JC1", "JJ1", "JB1"} {
		o, ok, err := r.gw.Lookup(ctx(t), session, cl)
		if err != nil || !ok || o.Open() {
			t.Errorf("%s in the gateway: open %v (%+v) %v %v", cl, o.Open(), o.Pending, ok, err)
		}
	}
}

// deskWork runs a desk operation the counterparty asks for: op ClOrdID
// [args] (see counterparty.js).
func deskWork(t *testing.T, r *rig, session string, f []string) error {
	if len(f) < 2 {
		return fmt.Errorf("bad desk request %q", f)
	}
	// The order may still be on its way: the counterparty asks right after
	// sending its D.
	var o order.OrderState
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		var ok bool
		var err error
		if o, ok, err = r.gw.Lookup(ctx(t), session, f[1]); err != nil {
			return err
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no order %s", f[1])
		}
	}
	d, id, px := r.gw.Desk(), o.OrderID, dec("1.05")
	arg := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return "0"
	}
	switch f[0] {
	case "accept":
		return d.Accept(ctx(t), id)
	case "reject":
		return d.Reject(ctx(t), id, order.OrdRejReasonBrokerOption, "no")
	case "fill":
		return d.Fill(ctx(t), id, dec(arg(2)), px)
	case "correct":
		return d.Correct(ctx(t), id, arg(2), dec(arg(3)), px, "correction")
	case "bust":
		return d.Bust(ctx(t), id, arg(2), "bust")
	case "acceptcancel":
		return d.AcceptCancel(ctx(t), id)
	case "cancel":
		return d.Cancel(ctx(t), id, "desk")
	case "dfd":
		return d.DoneForDay(ctx(t), id)
	}
	return fmt.Errorf("unknown desk operation %q", f[0])
}
