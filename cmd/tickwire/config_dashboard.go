package main

import "tickwire/trader"

// dashboardConfigFile is the --config flag of trader and demo. Their file
// holds the dashboard's settings (tui.FileConfig: title, servers, watchlist,
// stale_after, thresholds, colors) next to flag values; the flag layer sets
// the flags and leaves those keys to trader.LoadConfig. A JSON file is a
// YAML file too, so the dashboard's JSON files keep working.
type dashboardConfigFile string

// String implements flag.Value.
func (d *dashboardConfigFile) String() string {
	if d == nil {
		return ""
	}
	return string(*d)
}

// Set implements flag.Value.
func (d *dashboardConfigFile) Set(s string) error {
	*d = dashboardConfigFile(s)
	return nil
}

// ConfigKeys implements flagfile.Keyer: the dashboard's keys.
func (d *dashboardConfigFile) ConfigKeys() []string { return trader.ConfigKeys() }
