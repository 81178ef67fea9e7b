package stack

import "path/filepath"

// Config is every deploy-time setting of the stack. Function environment
// variables are derived from it in one place (functionEnv).
type Config struct {
	// AssetDir holds <function>.zip files as produced by `make build`.
	AssetDir string
	// TableName, PagesQueue and OutboxQueue name the resources
	// (defaults: resources.Default*).
	TableName   string
	PagesQueue  string
	OutboxQueue string
	// BulksyncConcurrency is the reserved concurrency of bulksync, which
	// caps parallel calls to the platforms' rate-limited APIs.
	BulksyncConcurrency int
	// ThrottleRate and ThrottleBurst are the HTTP API default-route limits.
	ThrottleRate  float64
	ThrottleBurst float64
}

// zip returns the code archive of one function.
func (c Config) zip(fn string) string { return filepath.Join(c.AssetDir, fn+".zip") }
