package blob_test

import (
	"testing"
)

func BenchmarkPut1KiB(b *testing.B) {
	l := startLapis(b, b.TempDir())
	defer l.stop()
	l.mkContainer("bench")
	data := randomBytes(1024, 9)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.client.UploadBuffer(bg, "bench", "b", data, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet1KiB(b *testing.B) {
	l := startLapis(b, b.TempDir())
	defer l.stop()
	l.mkContainer("bench")
	data := randomBytes(1024, 9)
	if _, err := l.client.UploadBuffer(bg, "bench", "b", data, nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := l.client.DownloadStream(bg, "bench", "b", nil)
		if err != nil {
			b.Fatal(err)
		}
		r.Body.Close()
	}
}
