package woocommerce

import "time"

// SetMaxWait lowers the cap on waits the store asks for.
func SetMaxWait(c *Client, d time.Duration) { c.api.MaxWait = d }
