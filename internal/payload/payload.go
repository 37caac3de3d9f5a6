// Package payload makes the JSON bodies perfkit's HTTP targets serve: the
// fetch workload's embedded server and the soak target.
package payload

// JSON returns a JSON document of exactly n bytes (n ≥ 11).
func JSON(n int) []byte {
	const head, tail = `{"data":"`, `"}`
	b := make([]byte, 0, n)
	b = append(b, head...)
	for i := 0; len(b) < n-len(tail); i++ {
		b = append(b, byte('a'+i%26))
	}
	return append(b, tail...)
}
