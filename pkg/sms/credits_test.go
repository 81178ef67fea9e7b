package sms

import (
	"strings"
	"testing"
)

func TestCredits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		text     string
		encoding string
		parts    int
	}{
		{"empty", "", EncodingGSM7, 1},
		{"one character", "a", EncodingGSM7, 1},
		{"exactly 160", strings.Repeat("a", 160), EncodingGSM7, 1},
		{"161", strings.Repeat("a", 161), EncodingGSM7, 2},
		{"exactly 306 (2 × 153)", strings.Repeat("a", 306), EncodingGSM7, 2},
		{"307", strings.Repeat("a", 307), EncodingGSM7, 3},
		{"GSM accents and Greek", "Ça coûte", EncodingUCS2, 1}, // û is not GSM-7
		{"GSM basic specials", "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¡ÄÖÑÜ§¿äöñüà", EncodingGSM7, 1},
		{"a euro is GSM-7, two septets", "€", EncodingGSM7, 1},
		{"80 euros fill 160 septets", strings.Repeat("€", 80), EncodingGSM7, 1},
		{"159 letters and a euro: 161 septets", strings.Repeat("a", 159) + "€", EncodingGSM7, 2},
		{"158 letters and a euro: 160 septets", strings.Repeat("a", 158) + "€", EncodingGSM7, 1},
		{"every extension character counts 2", "^{}\\[~]|€\f", EncodingGSM7, 1},
		{"an escape pair is not split across parts", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152), EncodingGSM7, 3},
		{"an emoji makes it UCS-2", "Hi 😀", EncodingUCS2, 1},
		{"exactly 70 UCS-2", "é" + strings.Repeat("ж", 69), EncodingUCS2, 1},
		{"71 UCS-2", strings.Repeat("ж", 71), EncodingUCS2, 2},
		{"134 UCS-2 (2 × 67)", strings.Repeat("ж", 134), EncodingUCS2, 2},
		{"135 UCS-2", strings.Repeat("ж", 135), EncodingUCS2, 3},
		{"35 emoji: 70 code units", strings.Repeat("😀", 35), EncodingUCS2, 1},
		{"36 emoji: 72 code units", strings.Repeat("😀", 36), EncodingUCS2, 2},
		{"a surrogate pair is not split across parts", strings.Repeat("ж", 66) + "😀" + strings.Repeat("ж", 66), EncodingUCS2, 3},
		{"a euro beside an emoji is UCS-2, one unit", strings.Repeat("€", 69) + "😀", EncodingUCS2, 2},
		{"GSM text with one emoji becomes UCS-2", strings.Repeat("a", 69) + "😀", EncodingUCS2, 2},
		{"default confirmation", "You are subscribed to receive messages from Acme. Reply STOP to cancel.", EncodingGSM7, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, parts := Credits(tc.text)
			if enc != tc.encoding || parts != tc.parts {
				t.Errorf("Credits(%q) = %s, %d; want %s, %d", tc.text, enc, parts, tc.encoding, tc.parts)
			}
		})
	}
}
