package infra

import (
	"encoding/json"
	"os"
)

// StateOutput is the string value of root output name in the local Terraform state file
// stateFile, read straight from the file rather than through `terraform output`, which needs an
// initialized working directory and a Terraform binary. ok is false when the file is missing or
// unreadable (no apply yet, or the state is remote), or the output is absent, not a string or
// empty: callers then fall back to telling the user where the value will come from.
func StateOutput(stateFile, name string) (value string, ok bool) {
	b, err := os.ReadFile(stateFile)
	if err != nil {
		return "", false
	}
	// Only the part of the state format (version 4) that holds the root module's outputs.
	var st struct {
		Outputs map[string]struct {
			Value any `json:"value"`
		} `json:"outputs"`
	}
	if json.Unmarshal(b, &st) != nil {
		return "", false
	}
	v, ok := st.Outputs[name].Value.(string)
	return v, ok && v != ""
}
