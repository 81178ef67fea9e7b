package twiliotest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/contactsync/contactsync/pkg/fakeapi"
)

// number is an IncomingPhoneNumber of the account.
type number struct {
	sid, phone, smsURL, smsMethod, smsApp string
}

// service is a Messaging Service.
type service struct {
	sid, inboundURL, inboundMethod string
}

// AddNumber gives the account a phone number (E.164); smsApplicationSID
// "" means none (the number's own SmsUrl is used). It returns the PN SID.
func (s *Server) AddNumber(phone, smsApplicationSID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := &number{sid: fmt.Sprintf("PN%032x", len(s.numbers)+1), phone: phone, smsMethod: http.MethodPost, smsApp: smsApplicationSID}
	s.numbers = append(s.numbers, n)
	return n.sid
}

// SMSURL returns the SmsUrl and SmsMethod of the account's number phone
// (found false when the account has no such number).
func (s *Server) SMSURL(phone string) (url, method string, found bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.numbers {
		if n.phone == phone {
			return n.smsURL, n.smsMethod, true
		}
	}
	return "", "", false
}

// AddService gives the account a Messaging Service; it returns its MG SID.
func (s *Server) AddService() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sid := fmt.Sprintf("MG%032x", len(s.services)+1)
	s.services[sid] = &service{sid: sid}
	return sid
}

// ServiceInboundURL returns a Messaging Service's InboundRequestUrl and
// InboundMethod.
func (s *Server) ServiceInboundURL(sid string) (url, method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sv := s.services[sid]; sv != nil {
		return sv.inboundURL, sv.inboundMethod
	}
	return "", ""
}

// FailUpdates makes the next n updates of a number or a Messaging Service
// answer 500 (Twilio error 20500) and change nothing.
func (s *Server) FailUpdates(n int) { s.updates.FailNext(n, http.StatusInternalServerError) }

// failUpdate reports (and answers) an injected update failure.
func (s *Server) failUpdate(w http.ResponseWriter) bool {
	return s.updates.Inject(w, func(int) any {
		return map[string]any{"code": 20500, "message": "An internal server error has occurred", "status": 500}
	})
}

// updating checks an update's credentials (account sid, "" for the
// Messaging API) and form, then its injected failure (FailUpdates); false:
// it is answered.
func (s *Server) updating(w http.ResponseWriter, r *http.Request, sid string) bool {
	if !s.authorized(w, r, sid) {
		return false
	}
	if err := r.ParseForm(); err != nil {
		fakeapi.JSON(w, 400, map[string]any{"code": 20001, "message": "Invalid form", "status": 400})
		return false
	}
	return !s.failUpdate(w)
}

// pageSize is a listing's PageSize (1 to 1,000; 50 when absent or out of
// range).
func pageSize(q url.Values) int {
	if n, err := strconv.Atoi(q.Get("PageSize")); err == nil && n > 0 && n <= 1000 {
		return n
	}
	return 50
}

func (s *Server) numberRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /2010-04-01/Accounts/{file}", s.account)
	mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json", s.listNumbers)
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers/{file}", s.updateNumber)
	mux.HandleFunc("POST /v1/Services/{mg}", s.updateService)
}

// authorized checks HTTP Basic auth against the account (sid the path's
// account SID); it answers 401 as Twilio does when not.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request, sid string) bool {
	if !fakeapi.Basic(r, s.opts.AccountSID, s.opts.AuthToken) || (sid != "" && sid != s.opts.AccountSID) {
		fakeapi.JSON(w, 401, map[string]any{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401})
		return false
	}
	return true
}

func notFound(w http.ResponseWriter, r *http.Request) {
	fakeapi.JSON(w, 404, map[string]any{"code": 20404, "message": "The requested resource " + r.URL.Path + " was not found",
		"more_info": "https://www.twilio.com/docs/errors/20404", "status": 404})
}

// account serves GET /2010-04-01/Accounts/{AccountSid}.json.
func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	if len(file) < len(".json") || file[len(file)-5:] != ".json" {
		notFound(w, r)
		return
	}
	sid := file[:len(file)-5]
	if !s.authorized(w, r, sid) {
		return
	}
	fakeapi.JSON(w, 200, map[string]any{"sid": sid, "friendly_name": "Fake account", "status": "active", "type": "Full",
		"uri": "/2010-04-01/Accounts/" + sid + ".json"})
}

func (n *number) json(account string) map[string]any {
	var app any
	if n.smsApp != "" {
		app = n.smsApp
	}
	return map[string]any{"sid": n.sid, "account_sid": account, "phone_number": n.phone, "friendly_name": n.phone,
		"sms_url": n.smsURL, "sms_method": n.smsMethod, "sms_application_sid": app, "sms_fallback_url": "",
		"capabilities": map[string]bool{"sms": true, "mms": true, "voice": true},
		"uri":          "/2010-04-01/Accounts/" + account + "/IncomingPhoneNumbers/" + n.sid + ".json"}
}

// listNumbers serves GET IncomingPhoneNumbers.json: the account's numbers
// filtered by PhoneNumber, one page (PageSize, default 50).
func (s *Server) listNumbers(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r, r.PathValue("sid")) {
		return
	}
	q := r.URL.Query()
	size := pageSize(q)
	s.mu.Lock()
	out := []map[string]any{}
	for _, n := range s.numbers {
		if (q.Get("PhoneNumber") == "" || q.Get("PhoneNumber") == n.phone) && len(out) < size {
			out = append(out, n.json(s.opts.AccountSID))
		}
	}
	s.mu.Unlock()
	fakeapi.JSON(w, 200, map[string]any{"incoming_phone_numbers": out, "page": 0, "page_size": size, "next_page_uri": nil,
		"uri": r.URL.RequestURI()})
}

// updateNumber serves POST IncomingPhoneNumbers/{PN..}.json (SmsUrl,
// SmsMethod).
func (s *Server) updateNumber(w http.ResponseWriter, r *http.Request) {
	if !s.updating(w, r, r.PathValue("sid")) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.numbers {
		if n.sid+".json" != r.PathValue("file") {
			continue
		}
		if m := r.PostForm.Get("SmsMethod"); m != "" && m != http.MethodGet && m != http.MethodPost {
			fakeapi.JSON(w, 400, map[string]any{"code": 21200, "message": "SmsMethod must be GET or POST", "status": 400})
			return
		}
		if v, ok := r.PostForm["SmsUrl"]; ok {
			n.smsURL = v[0]
		}
		if m := r.PostForm.Get("SmsMethod"); m != "" {
			n.smsMethod = m
		}
		fakeapi.JSON(w, 200, n.json(s.opts.AccountSID))
		return
	}
	notFound(w, r)
}

// updateService serves POST /v1/Services/{MG..} (InboundRequestUrl,
// InboundMethod).
func (s *Server) updateService(w http.ResponseWriter, r *http.Request) {
	if !s.updating(w, r, "") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.services[r.PathValue("mg")]
	if sv == nil {
		notFound(w, r)
		return
	}
	if v, ok := r.PostForm["InboundRequestUrl"]; ok {
		sv.inboundURL = v[0]
	}
	if m := r.PostForm.Get("InboundMethod"); m != "" {
		sv.inboundMethod = m
	}
	fakeapi.JSON(w, 200, map[string]any{"sid": sv.sid, "account_sid": s.opts.AccountSID, "inbound_request_url": sv.inboundURL,
		"inbound_method": sv.inboundMethod, "use_inbound_webhook_on_number": false})
}
