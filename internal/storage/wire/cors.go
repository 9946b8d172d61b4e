package wire

import "net/http"

// CORS lets browser apps on other origins call a storage service, as local
// development needs: it answers preflight requests (OPTIONS with Origin and
// Access-Control-Request-Method) itself, without credentials, and adds
// Access-Control-Allow-Origin and Access-Control-Expose-Headers to every
// answer to a request with an Origin. It allows any origin; Lapis does not
// yet apply the CORS rules of Set Blob/Queue Service Properties.
func CORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			Begin(w, r)
			h.Set("Access-Control-Allow-Methods", "DELETE,GET,HEAD,MERGE,POST,OPTIONS,PUT")
			if ah := r.Header.Get("Access-Control-Request-Headers"); ah != "" {
				h.Set("Access-Control-Allow-Headers", ah)
			}
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusOK)
			return
		}
		h.Set("Access-Control-Expose-Headers", "*")
		next.ServeHTTP(w, r)
	})
}
