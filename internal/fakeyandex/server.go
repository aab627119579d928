package fakeyandex

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Serve serves the fake provider over Terraform's plugin protocol (version 6)
// as registry.terraform.io/yandex-cloud/yandex, and returns when Terraform
// stops it. Only Terraform should start the executable that calls it: run
// by hand, go-plugin prints "This binary is a plugin" and exits with status
// 1. An error means the embedded schema is broken (a bug).
func Serve() error {
	s, err := load()
	if err != nil {
		return err
	}
	return tf6server.Serve(registryAddress, func() tfprotov6.ProviderServer { return &server{schemas: s} })
}

// server implements tfprotov6.ProviderServer over the converted schemas. It
// keeps no state between calls: Terraform's state is the only record.
type server struct {
	schemas *Schemas
}

var _ tfprotov6.ProviderServer = (*server)(nil)

func errorDiag(summary, detail string) []*tfprotov6.Diagnostic {
	return []*tfprotov6.Diagnostic{{Severity: tfprotov6.DiagnosticSeverityError, Summary: summary, Detail: detail}}
}

func internalError(err error) []*tfprotov6.Diagnostic {
	return errorDiag("Offline Yandex provider failed", err.Error()+
		"\n\nThis is a bug in pghac's offline provider (internal/fakeyandex), not in the configuration.")
}

// unsupported is the error of RPCs the offline provider does not implement.
func unsupported(what string) []*tfprotov6.Diagnostic {
	return errorDiag("Not supported offline", what+" is not supported by pghac's offline Yandex provider, "+
		"which only validates, plans and fakes applies against the provider's schema.")
}

func (s *server) capabilities() *tfprotov6.ServerCapabilities {
	return &tfprotov6.ServerCapabilities{PlanDestroy: true}
}

func (s *server) resource(name string) (*typeSchema, []*tfprotov6.Diagnostic) {
	if ts, ok := s.schemas.resources[name]; ok {
		return ts, nil
	}
	return nil, errorDiag("Unknown resource type", fmt.Sprintf("The offline Yandex provider has no resource type %q.", name))
}

func (s *server) GetMetadata(context.Context, *tfprotov6.GetMetadataRequest) (*tfprotov6.GetMetadataResponse, error) {
	resp := &tfprotov6.GetMetadataResponse{ServerCapabilities: s.capabilities()}
	for _, n := range s.schemas.ResourceTypes() {
		resp.Resources = append(resp.Resources, tfprotov6.ResourceMetadata{TypeName: n})
	}
	for _, n := range s.schemas.DataSourceTypes() {
		resp.DataSources = append(resp.DataSources, tfprotov6.DataSourceMetadata{TypeName: n})
	}
	return resp, nil
}

func (s *server) GetProviderSchema(context.Context, *tfprotov6.GetProviderSchemaRequest) (*tfprotov6.GetProviderSchemaResponse, error) {
	resp := &tfprotov6.GetProviderSchemaResponse{
		ServerCapabilities: s.capabilities(),
		Provider:           s.schemas.provider.proto,
		ResourceSchemas:    map[string]*tfprotov6.Schema{},
		DataSourceSchemas:  map[string]*tfprotov6.Schema{},
		Functions:          map[string]*tfprotov6.Function{},
	}
	for n, ts := range s.schemas.resources {
		resp.ResourceSchemas[n] = ts.proto
	}
	for n, ts := range s.schemas.dataSources {
		resp.DataSourceSchemas[n] = ts.proto
	}
	return resp, nil
}

func (s *server) GetResourceIdentitySchemas(context.Context, *tfprotov6.GetResourceIdentitySchemasRequest) (*tfprotov6.GetResourceIdentitySchemasResponse, error) {
	return &tfprotov6.GetResourceIdentitySchemasResponse{IdentitySchemas: map[string]*tfprotov6.ResourceIdentitySchema{}}, nil
}

func (s *server) ValidateProviderConfig(_ context.Context, req *tfprotov6.ValidateProviderConfigRequest) (*tfprotov6.ValidateProviderConfigResponse, error) {
	ts := s.schemas.provider
	config, err := req.Config.Unmarshal(ts.typ)
	if err != nil {
		return &tfprotov6.ValidateProviderConfigResponse{Diagnostics: internalError(err)}, nil
	}
	return &tfprotov6.ValidateProviderConfigResponse{
		PreparedConfig: req.Config,
		Diagnostics:    validateConfig(ts, config),
	}, nil
}

// ConfigureProvider accepts any configuration: there are no credentials to
// check and no API to connect to.
func (s *server) ConfigureProvider(context.Context, *tfprotov6.ConfigureProviderRequest) (*tfprotov6.ConfigureProviderResponse, error) {
	return &tfprotov6.ConfigureProviderResponse{}, nil
}

func (s *server) StopProvider(context.Context, *tfprotov6.StopProviderRequest) (*tfprotov6.StopProviderResponse, error) {
	return &tfprotov6.StopProviderResponse{}, nil
}

func (s *server) ValidateResourceConfig(_ context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	ts, diags := s.resource(req.TypeName)
	if diags != nil {
		return &tfprotov6.ValidateResourceConfigResponse{Diagnostics: diags}, nil
	}
	config, err := req.Config.Unmarshal(ts.typ)
	if err != nil {
		return &tfprotov6.ValidateResourceConfigResponse{Diagnostics: internalError(err)}, nil
	}
	return &tfprotov6.ValidateResourceConfigResponse{Diagnostics: validateConfig(ts, config)}, nil
}

// UpgradeResourceState decodes state JSON, ignoring attributes the schema no
// longer has. All schemas are version 0, so there is nothing to migrate.
func (s *server) UpgradeResourceState(_ context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	ts, diags := s.resource(req.TypeName)
	if diags != nil {
		return &tfprotov6.UpgradeResourceStateResponse{Diagnostics: diags}, nil
	}
	v, err := req.RawState.UnmarshalWithOpts(ts.typ, tfprotov6.UnmarshalOpts{
		ValueFromJSONOpts: tftypes.ValueFromJSONOpts{IgnoreUndefinedAttributes: true},
	})
	if err != nil {
		return &tfprotov6.UpgradeResourceStateResponse{Diagnostics: internalError(err)}, nil
	}
	dv, err := tfprotov6.NewDynamicValue(ts.typ, v)
	if err != nil {
		return &tfprotov6.UpgradeResourceStateResponse{Diagnostics: internalError(err)}, nil
	}
	return &tfprotov6.UpgradeResourceStateResponse{UpgradedState: &dv}, nil
}

func (s *server) UpgradeResourceIdentity(context.Context, *tfprotov6.UpgradeResourceIdentityRequest) (*tfprotov6.UpgradeResourceIdentityResponse, error) {
	return &tfprotov6.UpgradeResourceIdentityResponse{Diagnostics: unsupported("Resource identity")}, nil
}

// ReadResource returns the state unchanged: with no cloud behind it, nothing
// can drift.
func (s *server) ReadResource(_ context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return &tfprotov6.ReadResourceResponse{NewState: req.CurrentState, Private: req.Private}, nil
}

func (s *server) PlanResourceChange(_ context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	ts, diags := s.resource(req.TypeName)
	if diags != nil {
		return &tfprotov6.PlanResourceChangeResponse{Diagnostics: diags}, nil
	}
	resp := &tfprotov6.PlanResourceChangeResponse{
		PlannedPrivate: req.PriorPrivate,
		// SDKv2 plans schema defaults for attributes that are not computed,
		// which Terraform only tolerates from providers it knows to use
		// the legacy SDK; the real provider sets this flag for the same reason.
		UnsafeToUseLegacyTypeSystem: ts.legacySDK,
	}
	vals, err := unmarshalAll(ts.typ, req.PriorState, req.ProposedNewState, req.Config)
	if err != nil {
		resp.Diagnostics = internalError(err)
		return resp, nil
	}
	prior, proposed, config := vals[0], vals[1], vals[2]
	if proposed.IsNull() { // destroy
		resp.PlannedState = req.ProposedNewState
		return resp, nil
	}
	planned := planBlock(ts.block, proposed, prior, ts.legacySDK)
	if !prior.IsNull() {
		resp.RequiresReplace = replacePaths(ts.block, tftypes.NewAttributePath(), planned, prior, config)
	}
	dv, err := tfprotov6.NewDynamicValue(ts.typ, planned)
	if err != nil {
		resp.Diagnostics = internalError(err)
		return resp, nil
	}
	resp.PlannedState = &dv
	return resp, nil
}

// ApplyResourceChange "creates" or "updates" by turning every unknown in the
// planned state into a fake value (see faker), then clearing the outputs an
// output_to_lockbox block sends to Lockbox (see moveToLockbox), and
// "destroys" by returning null. Nothing exists anywhere but in Terraform's
// state.
func (s *server) ApplyResourceChange(_ context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	ts, diags := s.resource(req.TypeName)
	if diags != nil {
		return &tfprotov6.ApplyResourceChangeResponse{Diagnostics: diags}, nil
	}
	resp := &tfprotov6.ApplyResourceChangeResponse{Private: req.PlannedPrivate, UnsafeToUseLegacyTypeSystem: ts.legacySDK}
	planned, err := req.PlannedState.Unmarshal(ts.typ)
	if err != nil {
		resp.Diagnostics = internalError(err)
		return resp, nil
	}
	if planned.IsNull() {
		resp.NewState = req.PlannedState
		return resp, nil
	}
	// Fresh ids per object, like a cloud's; they are kept in the state.
	seed := make([]byte, 16)
	if _, err := rand.Read(seed); err != nil {
		resp.Diagnostics = internalError(err)
		return resp, nil
	}
	state, err := faker{seed: seed}.fill(planned)
	if err != nil {
		resp.Diagnostics = internalError(err)
		return resp, nil
	}
	state = moveToLockbox(ts.block, state)
	dv, err := tfprotov6.NewDynamicValue(ts.typ, state)
	if err != nil {
		resp.Diagnostics = internalError(err)
		return resp, nil
	}
	resp.NewState = &dv
	return resp, nil
}

func (s *server) ImportResourceState(context.Context, *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	return &tfprotov6.ImportResourceStateResponse{Diagnostics: unsupported("Importing existing resources")}, nil
}

func (s *server) MoveResourceState(context.Context, *tfprotov6.MoveResourceStateRequest) (*tfprotov6.MoveResourceStateResponse, error) {
	return &tfprotov6.MoveResourceStateResponse{Diagnostics: unsupported("Moving state between resource types")}, nil
}

func (s *server) GenerateResourceConfig(context.Context, *tfprotov6.GenerateResourceConfigRequest) (*tfprotov6.GenerateResourceConfigResponse, error) {
	return &tfprotov6.GenerateResourceConfigResponse{Diagnostics: unsupported("Generating configuration")}, nil
}

func (s *server) ValidateDataResourceConfig(_ context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	ts, ok := s.schemas.dataSources[req.TypeName]
	if !ok {
		return &tfprotov6.ValidateDataResourceConfigResponse{Diagnostics: errorDiag("Unknown data source",
			fmt.Sprintf("The offline Yandex provider has no data source %q.", req.TypeName))}, nil
	}
	config, err := req.Config.Unmarshal(ts.typ)
	if err != nil {
		return &tfprotov6.ValidateDataResourceConfigResponse{Diagnostics: internalError(err)}, nil
	}
	return &tfprotov6.ValidateDataResourceConfigResponse{Diagnostics: validateConfig(ts, config)}, nil
}

// ReadDataSource answers with the configuration, its computed attributes
// filled with fakes derived from a hash of the type and configuration: the
// same query always gets the same answer, so an image looked up by family
// keeps its id and dependent instances are not replaced on every plan.
func (s *server) ReadDataSource(_ context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	ts, ok := s.schemas.dataSources[req.TypeName]
	if !ok {
		return &tfprotov6.ReadDataSourceResponse{Diagnostics: errorDiag("Unknown data source",
			fmt.Sprintf("The offline Yandex provider has no data source %q.", req.TypeName))}, nil
	}
	config, err := req.Config.Unmarshal(ts.typ)
	if err != nil {
		return &tfprotov6.ReadDataSourceResponse{Diagnostics: internalError(err)}, nil
	}
	// Terraform encodes values canonically (sorted keys), so the request
	// bytes are a stable digest input.
	h := sha256.New()
	h.Write([]byte(req.TypeName + "\x00"))
	h.Write(req.Config.MsgPack)
	h.Write(req.Config.JSON)
	seed := h.Sum(nil)
	state, err := faker{seed: seed}.fill(planBlock(ts.block, config, tftypes.NewValue(ts.typ, nil), false))
	if err != nil {
		return &tfprotov6.ReadDataSourceResponse{Diagnostics: internalError(err)}, nil
	}
	dv, err := tfprotov6.NewDynamicValue(ts.typ, state)
	if err != nil {
		return &tfprotov6.ReadDataSourceResponse{Diagnostics: internalError(err)}, nil
	}
	return &tfprotov6.ReadDataSourceResponse{State: &dv}, nil
}

func (s *server) GetFunctions(context.Context, *tfprotov6.GetFunctionsRequest) (*tfprotov6.GetFunctionsResponse, error) {
	return &tfprotov6.GetFunctionsResponse{Functions: map[string]*tfprotov6.Function{}}, nil
}

func (s *server) CallFunction(context.Context, *tfprotov6.CallFunctionRequest) (*tfprotov6.CallFunctionResponse, error) {
	return &tfprotov6.CallFunctionResponse{Error: &tfprotov6.FunctionError{Text: "the offline Yandex provider has no functions"}}, nil
}

func (s *server) ValidateEphemeralResourceConfig(context.Context, *tfprotov6.ValidateEphemeralResourceConfigRequest) (*tfprotov6.ValidateEphemeralResourceConfigResponse, error) {
	return &tfprotov6.ValidateEphemeralResourceConfigResponse{Diagnostics: unsupported("Ephemeral resources")}, nil
}

func (s *server) OpenEphemeralResource(context.Context, *tfprotov6.OpenEphemeralResourceRequest) (*tfprotov6.OpenEphemeralResourceResponse, error) {
	return &tfprotov6.OpenEphemeralResourceResponse{Diagnostics: unsupported("Ephemeral resources")}, nil
}

func (s *server) RenewEphemeralResource(context.Context, *tfprotov6.RenewEphemeralResourceRequest) (*tfprotov6.RenewEphemeralResourceResponse, error) {
	return &tfprotov6.RenewEphemeralResourceResponse{Diagnostics: unsupported("Ephemeral resources")}, nil
}

func (s *server) CloseEphemeralResource(context.Context, *tfprotov6.CloseEphemeralResourceRequest) (*tfprotov6.CloseEphemeralResourceResponse, error) {
	return &tfprotov6.CloseEphemeralResourceResponse{Diagnostics: unsupported("Ephemeral resources")}, nil
}

// unmarshalAll decodes several dynamic values of one type; a nil value
// decodes as null.
func unmarshalAll(typ tftypes.Type, dvs ...*tfprotov6.DynamicValue) ([]tftypes.Value, error) {
	out := make([]tftypes.Value, len(dvs))
	for i, dv := range dvs {
		if dv == nil {
			out[i] = tftypes.NewValue(typ, nil)
			continue
		}
		v, err := dv.Unmarshal(typ)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
