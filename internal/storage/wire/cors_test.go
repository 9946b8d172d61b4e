package wire

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCORS(t *testing.T) {
	h := CORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))

	pre := httptest.NewRequest(http.MethodOptions, "/devstoreaccount1/c/b", nil)
	pre.Header.Set("Origin", "http://localhost:5173")
	pre.Header.Set("Access-Control-Request-Method", "PUT")
	pre.Header.Set("Access-Control-Request-Headers", "x-ms-blob-type,x-ms-version")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, pre)
	if rec.Code != http.StatusOK || rec.Header().Get("Access-Control-Allow-Origin") != "http://localhost:5173" ||
		rec.Header().Get("Access-Control-Allow-Headers") != "x-ms-blob-type,x-ms-version" {
		t.Fatalf("preflight = %d %v", rec.Code, rec.Header())
	}

	get := httptest.NewRequest(http.MethodGet, "/devstoreaccount1/c/b", nil)
	get.Header.Set("Origin", "http://localhost:5173")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, get)
	if rec.Code != http.StatusTeapot || rec.Header().Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Fatalf("actual request = %d %v", rec.Code, rec.Header())
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/devstoreaccount1/c/b", nil))
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS headers on a request without Origin")
	}
}
