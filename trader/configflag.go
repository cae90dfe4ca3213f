package trader

// ConfigFile is the value of the --config flag of trader and demo. Their
// file holds the dashboard's settings (tui.FileConfig: title, servers,
// watchlist, stale_after, thresholds, colors) next to flag values; the flag
// layer (flagfile) sets the flags and, through ConfigKeys, leaves those
// keys to LoadConfig. A JSON file is a YAML file too, so the dashboard's
// JSON files keep working.
type ConfigFile string

// String implements flag.Value.
func (c *ConfigFile) String() string {
	if c == nil {
		return ""
	}
	return string(*c)
}

// Set implements flag.Value.
func (c *ConfigFile) Set(s string) error {
	*c = ConfigFile(s)
	return nil
}

// ConfigKeys implements flagfile.Keyer: the dashboard's keys.
func (c *ConfigFile) ConfigKeys() []string { return ConfigKeys() }
