package klaviyo

import "time"

// SetMaxWait lowers the cap on waits Klaviyo asks for.
func SetMaxWait(c *Client, d time.Duration) { c.api.MaxWait = d }
