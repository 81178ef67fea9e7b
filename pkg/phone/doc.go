// Package phone normalises raw phone fields from source platforms to E.164
// with github.com/nyaruka/phonenumbers (a port of Google's libphonenumber),
// or says why it cannot.
//
// What it adds to the library, and why:
//
//   - Notes typed into phone fields ("(work)", "- home", "mobile", "/ office",
//     "Tel:") are cut off before parsing. libphonenumber reads letters as
//     keypad digits, so "0412 345 678 home" would otherwise become a
//     different, valid-looking number.
//   - A field that holds two numbers ("0412 345 678 / 0498 765 432") is
//     invalid with ReasonMultipleNumbers, and a spreadsheet float
//     ("4.15555E+9") with ReasonSpreadsheetFloat: we never guess.
//   - Vanity numbers ("1-800-FLOWERS") are invalid with ReasonVanity: a
//     keypad translation is a guess about what the person meant, and an SMS
//     hub needs a mobile number, which vanity numbers never are.
//   - National formats are read in the record's own country first, then in
//     the connection's default region; a number written in international
//     form ("+44 ...", or the "00" / "011" prefixes) is judged in its own
//     region. "00" and "011" are tried as international prefixes when the
//     region's own dialling rules do not already read them so (libphonenumber
//     reads "00" in GB or DE and "011" in the US by itself).
//   - Extensions are dropped: the E.164 form has none.
//
// Validity is the library's IsValidNumber: the number matches a number
// pattern of its region. Landlines are not rejected here; whether a number
// can receive SMS is the provider's concern.
//
// Otherwise the answer is exactly the library's: Parse, IsValidNumber and
// Format(E164) on the (cleaned) input.
//
// Cost: the library loads its metadata at package init: about 5 ms and
// 2.5 MB (GODEBUG=inittrace=1, 2026-11-30, AMD EPYC), paid once per Lambda
// cold start; the first number of a region then costs 0.3–1 ms while its
// patterns compile, later ones about 17 µs (BenchmarkNormalizePhone). The
// fast path (input of only digits, spaces and + - . ( ) characters) adds
// no allocation to the library's own work.
package phone
