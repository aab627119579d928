package fakeyandex

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// ProviderSource is the source address a configuration's required_providers
// block uses for the Yandex provider.
const ProviderSource = "yandex-cloud/yandex"

// ProviderVersion is the provider release the embedded schema was taken from;
// the fake announces itself as this version.
const ProviderVersion = "0.222.0"

// registryAddress is the fully qualified provider address Terraform resolves
// ProviderSource to.
const registryAddress = "registry.terraform.io/" + ProviderSource

// schemaJSON is a copy of the schema extracted from the real provider's source
// (see the file's _source and _source_notes keys). It is the only description
// of the provider the fake has.
//
//go:embed yandex-schema.json
var schemaJSON []byte

// kind tells what a top-level schema describes.
type kind int

const (
	kindProvider kind = iota
	kindResource
	kindDataSource
)

// forceNew says when a change of an attribute or block makes the real
// provider replace the object.
type forceNew int

const (
	forceNewNever forceNew = iota
	// forceNewAlways is SDKv2's ForceNew and the framework's RequiresReplace.
	forceNewAlways
	// forceNewIfConfigured is the framework's RequiresReplaceIfConfigured: a
	// change only forces replacement when the configuration sets the value.
	forceNewIfConfigured
)

// typeSchema is one provider, resource or data source schema, converted once.
type typeSchema struct {
	name string
	kind kind
	// legacySDK is true for resources written with terraform-plugin-sdk/v2:
	// they apply schema defaults at plan time and need Terraform's tolerance
	// for the legacy type system (see PlanResourceChange).
	legacySDK bool
	block     *block
	proto     *tfprotov6.Schema
	typ       tftypes.Type
	// oneOf lists argument groups of which exactly one must be set, for
	// rules the real provider enforces in code rather than in its schema.
	oneOf [][]string
}

// block is a converted schema block: attributes and nested blocks sorted by name.
type block struct {
	attrs  []*attribute
	blocks []*nestedBlock
	typ    tftypes.Object
}

type attribute struct {
	name                                    string
	typ                                     tftypes.Type
	required, optional, computed, sensitive bool
	forceNew                                forceNew
	// def is the attribute's default, applied at plan time when the
	// configuration leaves the attribute null: SDKv2's Default (never on a
	// computed attribute) or a framework default such as booldefault
	// (always on a computed one). Nil when there is none or it is not a
	// literal in the source (default_go_expr).
	def        *tftypes.Value
	deprecated string
	check      valueCheck
	// conflictsWith holds SDKv2 ConflictsWith keys ("a.0.b"), exactlyOneOf
	// ExactlyOneOf keys, both relative to the resource.
	conflictsWith []string
	exactlyOneOf  []string
}

type nestedBlock struct {
	name     string
	nesting  tfprotov6.SchemaNestedBlockNestingMode
	forceNew forceNew
	// sdkComputed marks SDKv2 Optional+Computed blocks: the protocol cannot
	// say that a block is computed, so the fake keeps their prior value when
	// the configuration leaves them out, as the SDK does.
	sdkComputed bool
	block       *block
}

// Schemas holds every schema the fake serves.
type Schemas struct {
	provider    *typeSchema
	resources   map[string]*typeSchema
	dataSources map[string]*typeSchema
	// removed lists resource types present in the JSON for reference but
	// absent from ProviderVersion; the fake does not serve them.
	removed []string
}

var (
	loadOnce    sync.Once
	loadResult  *Schemas
	loadErr     error
	goStringsRe = regexp.MustCompile(`"([^"\\]*)"`)
)

// load converts the embedded schema once per process (about 15 ms, see
// BenchmarkParseSchemas).
func load() (*Schemas, error) {
	loadOnce.Do(func() { loadResult, loadErr = parseSchemas(schemaJSON) })
	return loadResult, loadErr
}

// ResourceTypes returns the names of the served resource types, sorted.
func (s *Schemas) ResourceTypes() []string { return sortedKeys(s.resources) }

// DataSourceTypes returns the names of the served data sources, sorted.
func (s *Schemas) DataSourceTypes() []string { return sortedKeys(s.dataSources) }

// Removed returns the resource types the JSON describes but ProviderVersion
// no longer has, sorted. The fake rejects them like the real provider does.
func (s *Schemas) Removed() []string { return s.removed }

// LoadSchemas returns the schemas the fake serves, converted from the embedded
// JSON. An error means the embedded file is malformed (a bug, caught by tests).
func LoadSchemas() (*Schemas, error) { return load() }

type jsonBlock struct {
	Kind        string                     `json:"_kind"`
	SDK         string                     `json:"_sdk"`
	RemovedIn   string                     `json:"_removed_in"`
	Description string                     `json:"description"`
	Attributes  map[string]jsonAttribute   `json:"attributes"`
	Blocks      map[string]jsonNestedBlock `json:"blocks"`
}

type jsonAttribute struct {
	Type          json.RawMessage `json:"type"`
	Required      bool            `json:"required"`
	Optional      bool            `json:"optional"`
	Computed      bool            `json:"computed"`
	Sensitive     bool            `json:"sensitive"`
	ForceNew      json.RawMessage `json:"force_new"`
	Default       json.RawMessage `json:"default"`
	Deprecated    string          `json:"deprecated"`
	Description   string          `json:"description"`
	Validate      string          `json:"validate"`
	ConflictsWith json.RawMessage `json:"conflicts_with"`
	ExactlyOneOf  json.RawMessage `json:"exactly_one_of"`
}

type jsonNestedBlock struct {
	jsonBlock
	Nesting    string          `json:"nesting"`
	MinItems   int64           `json:"min_items"`
	MaxItems   int64           `json:"max_items"`
	ForceNew   json.RawMessage `json:"force_new"`
	Deprecated string          `json:"deprecated"`
	SDKFlags   []string        `json:"sdk_flags"`
}

func parseSchemas(src []byte) (*Schemas, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(src, &top); err != nil {
		return nil, fmt.Errorf("yandex-schema.json: %w", err)
	}
	out := &Schemas{resources: map[string]*typeSchema{}, dataSources: map[string]*typeSchema{}}
	for _, key := range sortedKeys(top) {
		if strings.HasPrefix(key, "_") {
			continue // notes about the extraction, not schemas
		}
		var jb jsonBlock
		if err := json.Unmarshal(top[key], &jb); err != nil {
			return nil, fmt.Errorf("yandex-schema.json: %s: %w", key, err)
		}
		if jb.RemovedIn != "" {
			out.removed = append(out.removed, key)
			continue
		}
		ts := &typeSchema{name: key, legacySDK: jb.SDK == "terraform-plugin-sdk/v2"}
		switch {
		case key == "provider.yandex":
			ts.kind = kindProvider
		case strings.HasPrefix(key, "data."):
			ts.kind = kindDataSource
			ts.name = strings.TrimPrefix(key, "data.")
		default:
			ts.kind = kindResource
		}
		frameworkForceNew := !ts.legacySDK
		b, pb, err := convertBlock(&jb, frameworkForceNew)
		if err != nil {
			return nil, fmt.Errorf("yandex-schema.json: %s: %w", key, err)
		}
		pb.Description = jb.Description
		ts.block = b
		ts.typ = b.typ
		ts.proto = &tfprotov6.Schema{Block: pb}
		ts.oneOf = codeRules[key]
		switch ts.kind {
		case kindProvider:
			out.provider = ts
		case kindDataSource:
			out.dataSources[ts.name] = ts
		default:
			out.resources[ts.name] = ts
		}
	}
	if out.provider == nil {
		return nil, fmt.Errorf("yandex-schema.json: no provider.yandex schema")
	}
	return out, nil
}

// codeRules are argument rules the real provider checks in Go code rather
// than in its schema, keyed like the JSON. Only rules documented in the
// JSON's _notes are listed.
var codeRules = map[string][][]string{
	// dataSourceYandexComputeImageRead: checkOneOf(d, "image_id", "family", "name").
	"data.yandex_compute_image": {{"image_id", "family", "name"}},
}

func convertBlock(jb *jsonBlock, framework bool) (*block, *tfprotov6.SchemaBlock, error) {
	b := &block{}
	pb := &tfprotov6.SchemaBlock{DescriptionKind: tfprotov6.StringKindPlain}
	types := map[string]tftypes.Type{}
	for _, name := range sortedKeys(jb.Attributes) {
		ja := jb.Attributes[name]
		typ, err := parseType(ja.Type)
		if err != nil {
			return nil, nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		a := &attribute{
			name: name, typ: typ,
			required: ja.Required, optional: ja.Optional, computed: ja.Computed, sensitive: ja.Sensitive,
			deprecated: ja.Deprecated,
		}
		if a.forceNew, err = parseForceNew(ja.ForceNew, framework); err != nil {
			return nil, nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		if len(ja.Default) > 0 {
			v, err := parseDefault(ja.Default, typ)
			if err != nil {
				return nil, nil, fmt.Errorf("attribute %s: default: %w", name, err)
			}
			a.def = &v
		}
		a.check = parseCheck(ja.Validate)
		a.conflictsWith = parseKeys(ja.ConflictsWith)
		a.exactlyOneOf = parseKeys(ja.ExactlyOneOf)
		b.attrs = append(b.attrs, a)
		types[name] = typ
		pb.Attributes = append(pb.Attributes, &tfprotov6.SchemaAttribute{
			Name: name, Type: typ, Description: ja.Description, DescriptionKind: tfprotov6.StringKindPlain,
			Required: ja.Required, Optional: ja.Optional, Computed: ja.Computed, Sensitive: ja.Sensitive,
			Deprecated: ja.Deprecated != "", DeprecationMessage: ja.Deprecated,
		})
	}
	for _, name := range sortedKeys(jb.Blocks) {
		jn := jb.Blocks[name]
		inner, innerProto, err := convertBlock(&jn.jsonBlock, framework)
		if err != nil {
			return nil, nil, fmt.Errorf("block %s: %w", name, err)
		}
		innerProto.Description = jn.Description
		innerProto.Deprecated = jn.Deprecated != ""
		innerProto.DeprecationMessage = jn.Deprecated
		nb := &nestedBlock{name: name, block: inner}
		for _, f := range jn.SDKFlags {
			nb.sdkComputed = nb.sdkComputed || f == "computed"
		}
		switch jn.Nesting {
		case "single":
			nb.nesting = tfprotov6.SchemaNestedBlockNestingModeSingle
		case "list":
			nb.nesting = tfprotov6.SchemaNestedBlockNestingModeList
		case "set":
			nb.nesting = tfprotov6.SchemaNestedBlockNestingModeSet
		case "map":
			nb.nesting = tfprotov6.SchemaNestedBlockNestingModeMap
		default:
			return nil, nil, fmt.Errorf("block %s: unsupported nesting %q", name, jn.Nesting)
		}
		if nb.forceNew, err = parseForceNew(jn.ForceNew, framework); err != nil {
			return nil, nil, fmt.Errorf("block %s: %w", name, err)
		}
		pnb := &tfprotov6.SchemaNestedBlock{
			TypeName: name, Block: innerProto, Nesting: nb.nesting, MinItems: jn.MinItems, MaxItems: jn.MaxItems,
		}
		b.blocks = append(b.blocks, nb)
		types[name] = pnb.ValueType()
		pb.BlockTypes = append(pb.BlockTypes, pnb)
	}
	b.typ = tftypes.Object{AttributeTypes: types}
	return b, pb, nil
}

// parseType reads the `terraform providers schema -json` type encoding.
func parseType(raw json.RawMessage) (tftypes.Type, error) {
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		switch name {
		case "string":
			return tftypes.String, nil
		case "number":
			return tftypes.Number, nil
		case "bool":
			return tftypes.Bool, nil
		case "dynamic":
			return tftypes.DynamicPseudoType, nil
		}
		return nil, fmt.Errorf("unknown type %q", name)
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) < 2 {
		return nil, fmt.Errorf("malformed type %s", raw)
	}
	if err := json.Unmarshal(parts[0], &name); err != nil {
		return nil, fmt.Errorf("malformed type %s", raw)
	}
	switch name {
	case "list", "set", "map":
		if len(parts) != 2 {
			return nil, fmt.Errorf("malformed type %s", raw)
		}
		elem, err := parseType(parts[1])
		if err != nil {
			return nil, err
		}
		switch name {
		case "list":
			return tftypes.List{ElementType: elem}, nil
		case "set":
			return tftypes.Set{ElementType: elem}, nil
		}
		return tftypes.Map{ElementType: elem}, nil
	case "object":
		if len(parts) != 2 {
			// terraform-plugin-go's tftypes panics on objects with optional
			// attributes, and SDKv2 cannot declare them, so refuse them here.
			return nil, fmt.Errorf("object types with optional attributes are not supported: %s", raw)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(parts[1], &fields); err != nil {
			return nil, fmt.Errorf("malformed type %s", raw)
		}
		types := map[string]tftypes.Type{}
		for _, f := range sortedKeys(fields) {
			t, err := parseType(fields[f])
			if err != nil {
				return nil, err
			}
			types[f] = t
		}
		return tftypes.Object{AttributeTypes: types}, nil
	}
	return nil, fmt.Errorf("unknown type %s", raw)
}

// parseForceNew reads force_new: true (SDKv2 ForceNew, framework
// RequiresReplace) or a framework plan modifier's name.
func parseForceNew(raw json.RawMessage, framework bool) (forceNew, error) {
	if len(raw) == 0 {
		return forceNewNever, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		if b {
			return forceNewAlways, nil
		}
		return forceNewNever, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return forceNewNever, fmt.Errorf("malformed force_new %s", raw)
	}
	switch s {
	case "RequiresReplace":
		return forceNewAlways, nil
	case "RequiresReplaceIfConfigured":
		return forceNewIfConfigured, nil
	}
	return forceNewNever, fmt.Errorf("unknown force_new %q", s)
}

// parseDefault turns a JSON default into a value of the attribute's type.
func parseDefault(raw json.RawMessage, typ tftypes.Type) (tftypes.Value, error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return tftypes.Value{}, err
	}
	switch {
	case typ.Is(tftypes.String):
		if s, ok := v.(string); ok {
			return tftypes.NewValue(typ, s), nil
		}
	case typ.Is(tftypes.Bool):
		if b, ok := v.(bool); ok {
			return tftypes.NewValue(typ, b), nil
		}
	case typ.Is(tftypes.Number):
		if n, ok := v.(json.Number); ok {
			f, _, err := big.ParseFloat(n.String(), 10, 512, big.ToNearestEven)
			if err != nil {
				return tftypes.Value{}, err
			}
			return tftypes.NewValue(typ, f), nil
		}
	}
	return tftypes.Value{}, fmt.Errorf("%s does not fit type %s", raw, typ)
}

// parseKeys reads conflicts_with/exactly_one_of: a JSON list (provider) or
// the Go source of a []string literal (resources).
func parseKeys(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list
	}
	var src string
	if err := json.Unmarshal(raw, &src); err != nil {
		return nil
	}
	for _, m := range goStringsRe.FindAllStringSubmatch(src, -1) {
		list = append(list, m[1])
	}
	return list
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
