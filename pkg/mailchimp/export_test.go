package mailchimp

import (
	"context"
	"time"
)

// SetSleep makes the client's waits between attempts call f.
func SetSleep(c *Client, f func(ctx context.Context, d time.Duration) error) { c.api.Sleep = f }
