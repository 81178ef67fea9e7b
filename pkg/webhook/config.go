package webhook

import (
	"encoding/json"
	"fmt"
)

func decodeConfig(raw []byte) (map[string]string, error) {
	var cfg map[string]string
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("decoding connection config: %w", err)
	}
	return cfg, nil
}
