package inbound

import (
	"encoding/json"
	"fmt"

	"github.com/contactsync/contactsync/pkg/sms"
)

func decodeSettings(raw []byte) (sms.Settings, error) {
	var s sms.Settings
	if err := json.Unmarshal(raw, &s); err != nil {
		return sms.Settings{}, fmt.Errorf("decoding SMS provider settings: %w", err)
	}
	return s, nil
}
