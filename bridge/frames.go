package main

import (
	"encoding/binary"
	"fmt"
)

// Batches cross the ABI as frames, not as a JSON array: each input is its client's bytes,
// parsed on its own (a bad item fails alone), and each result is the bridge's bytes, split
// by Python without a JSON decoder between a number and its client.
//
//	input frame:  uint32 little-endian length, the input's JSON
//	output frame: status byte (statusOK, statusUndefined, statusError), uint32 length,
//	              the result's JSON or the error's JSON

func readFrames(raw []byte) ([][]byte, *bridgeError) {
	var items [][]byte
	for len(raw) > 0 {
		if len(raw) < 4 {
			return nil, &bridgeError{Code: "invalid_input", Message: "truncated frame header"}
		}
		n := int(binary.LittleEndian.Uint32(raw))
		if n > len(raw)-4 {
			return nil, &bridgeError{Code: "invalid_input", Message: fmt.Sprintf("frame of %d bytes past the end", n)}
		}
		items = append(items, raw[4:4+n])
		raw = raw[4+n:]
	}
	return items, nil
}

func appendFrame(dst []byte, status byte, body []byte) []byte {
	dst = append(dst, status)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}
