package sms

import "strings"

// Encodings a message is billed in.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// Segment sizes as providers bill them (3GPP TS 23.038 / 23.040): a single
// GSM-7 message holds 160 septets and each part of a concatenated one 153
// (the user data header takes the rest); UCS-2 holds 70 UTF-16 code units,
// 67 per part.
const (
	gsmSingle, gsmPart   = 160, 153
	ucs2Single, ucs2Part = 70, 67
)

// gsmBasic is the GSM 03.38 default alphabet (one septet each; the escape
// character itself is not text).
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension is the default alphabet's extension table: two septets each
// (escape + character).
const gsmExtension = "\f^{}\\[~]|€"

// Credits returns the encoding text is sent in and the number of parts
// (credits) it is billed as: GSM-7 when every character is in the GSM 03.38
// alphabet or its extension table (which count two septets), else UCS-2
// (characters outside the Basic Multilingual Plane, such as emoji, count two
// code units). A message that does not fit one segment is split into parts
// of 153 septets or 67 code units; a two-unit character (an extension
// character's escape pair, an emoji's surrogate pair) is never split across
// parts, as the providers split. Every message costs at least one part.
func Credits(text string) (encoding string, parts int) {
	widths, gsm := unitWidths(text)
	single, part := gsmSingle, gsmPart
	encoding = EncodingGSM7
	if !gsm {
		single, part, encoding = ucs2Single, ucs2Part, EncodingUCS2
	}
	total := 0
	for _, w := range widths {
		total += w
	}
	if total <= single {
		return encoding, 1
	}
	parts, used := 1, 0
	for _, w := range widths {
		if used+w > part {
			parts, used = parts+1, 0
		}
		used += w
	}
	return encoding, parts
}

// unitWidths returns each character's width in the encoding the text needs
// (septets for GSM-7, UTF-16 code units for UCS-2), and whether GSM-7 holds
// it all.
func unitWidths(text string) ([]int, bool) {
	widths := make([]int, 0, len(text))
	for _, r := range text {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			widths = append(widths, 1)
		case strings.ContainsRune(gsmExtension, r):
			widths = append(widths, 2)
		default:
			return ucs2Widths(text), false
		}
	}
	return widths, true
}

func ucs2Widths(text string) []int {
	var widths []int
	for _, r := range text {
		w := 1
		if r > 0xFFFF {
			w = 2 // a surrogate pair
		}
		widths = append(widths, w)
	}
	return widths
}
