package backend

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Route labels. A request is counted under exactly one of them; paths that match no route
// are "other", so that the label's values stay few whatever clients send.
const (
	routeNotes   = "/notes/"
	routeNote    = "/notes/{id}/"
	routeHealthz = "/healthz"
	routeReadyz  = "/readyz"
	routeMetrics = "/metrics"
	routeOther   = "other"
)

// metrics is the backend's own registry and the collectors it updates.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pghac_backend_http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pghac_backend_http_request_duration_seconds",
			Help: "Time from a request's arrival to its handler's return, by method and route pattern.",
			// 1 ms to 10 s: a cached read is about a millisecond, a request held up by an
			// outage ends at the request timeout (5 s by default).
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "pghac_backend_build_info",
		Help:        "Always 1; the version label is the backend's version.",
		ConstLabels: prometheus.Labels{"version": s.cfg.Version},
	})
	buildInfo.Set(1)
	schemaReady := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pghac_backend_schema_ready",
		Help: "1 once the backend has made sure the notes table exists.",
	}, func() float64 { return b2f(s.schemaReady.Load()) })
	m.reg.MustRegister(
		m.requests, m.duration, buildInfo, schemaReady,
		poolCollector{pools: []*dbPool{s.write, s.read}},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// observe counts one answered request.
func (m *metrics) observe(method, route string, code int, d time.Duration) {
	method = methodLabel(method)
	m.requests.WithLabelValues(method, route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(method, route).Observe(d.Seconds())
}

// methodLabel keeps the method label's values few: clients may send any token as a method.
func methodLabel(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return m
	}
	return "other"
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// poolCollector reports pgxpool's statistics and the probes' verdict for each pool, read
// when scraped.
type poolCollector struct {
	pools []*dbPool
}

var (
	descUp           = poolDesc("pghac_backend_db_up", "1 when the pool's last probe (SELECT 1, every second) succeeded.")
	descAcquired     = poolDesc("pghac_backend_db_pool_acquired_conns", "Connections in use by requests.")
	descIdle         = poolDesc("pghac_backend_db_pool_idle_conns", "Idle connections.")
	descTotal        = poolDesc("pghac_backend_db_pool_total_conns", "Open connections, including those being established.")
	descConstructing = poolDesc("pghac_backend_db_pool_constructing_conns", "Connections being established.")
	descMax          = poolDesc("pghac_backend_db_pool_max_conns", "The pool's size limit.")
	descAcquires     = poolDesc("pghac_backend_db_pool_acquires_total", "Successful connection acquisitions.")
	descEmpty        = poolDesc("pghac_backend_db_pool_empty_acquires_total", "Acquisitions that had to wait for a connection or dial a new one.")
	descCanceled     = poolDesc("pghac_backend_db_pool_canceled_acquires_total", "Acquisitions given up because the request's context ended.")
	descNew          = poolDesc("pghac_backend_db_pool_new_conns_total", "Connections established.")
	descWait         = poolDesc("pghac_backend_db_pool_acquire_seconds_total", "Time spent acquiring connections.")
)

func poolDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, []string{"pool"}, nil)
}

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descAcquired, descIdle, descTotal, descConstructing, descMax, descAcquires, descEmpty, descCanceled, descNew, descWait} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.pools {
		st := p.pool.Stat()
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, p.name)
		}
		counter := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, p.name)
		}
		gauge(descUp, b2f(p.up()))
		gauge(descAcquired, float64(st.AcquiredConns()))
		gauge(descIdle, float64(st.IdleConns()))
		gauge(descTotal, float64(st.TotalConns()))
		gauge(descConstructing, float64(st.ConstructingConns()))
		gauge(descMax, float64(st.MaxConns()))
		counter(descAcquires, float64(st.AcquireCount()))
		counter(descEmpty, float64(st.EmptyAcquireCount()))
		counter(descCanceled, float64(st.CanceledAcquireCount()))
		counter(descNew, float64(st.NewConnsCount()))
		counter(descWait, st.AcquireDuration().Seconds())
	}
}
