package hubapi

import "testing"

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name, header, token string
		ok                  bool
	}{
		{"canonical", "Bearer t_1.abc", "t_1.abc", true},
		{"scheme is case-insensitive", "bearer t_1.abc", "t_1.abc", true},
		{"scheme in capitals", "BEARER t_1.abc", "t_1.abc", true},
		{"token68 padding", "Bearer abc==", "abc==", true},
		{"bare key without scheme", "t_1.abc", "", false},
		{"empty", "", "", false},
		{"scheme only", "Bearer", "", false},
		{"scheme and space only", "Bearer ", "", false},
		{"two spaces", "Bearer  t_1.abc", "", false},
		{"two tokens", "Bearer t_1.abc extra", "", false},
		{"trailing space", "Bearer t_1.abc ", "", false},
		{"tab instead of space", "Bearer\tt_1.abc", "", false},
		{"other scheme", "Basic dXNlcjpwYXNz", "", false},
		{"scheme glued to token", "Bearert_1.abc", "", false},
		{"control character", "Bearer t_1\x00abc", "", false},
		{"non-ASCII", "Bearer t_1.ab\u00e9", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			token, ok := bearerToken(tc.header)
			if token != tc.token || ok != tc.ok {
				t.Errorf("bearerToken(%q) = %q, %v; want %q, %v", tc.header, token, ok, tc.token, tc.ok)
			}
		})
	}
}
