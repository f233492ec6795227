# Two commands do all the set-up on a fresh Debian machine:
#   make demo   - create .venv, install, replay the bundled captures, print alerts and a summary
#   make test   - the whole test suite (system tools it needs: see .ci/run)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# covert channels in the demo: an iodine DNS tunnel, ptunnel-ng over ICMP, nmap scans
DEMO_COVERT := pcaps/covert/heldout/iodine-txt-raw.pcap pcaps/icmp/ptunnel_ng.pcap pcaps/spi/scans.pcap

.PHONY: demo test corpus bench venv clean goldens model bench-dns bench-covert bench-icap bench-live covert-captures

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@mkdir -p out
	@rm -f out/demo-eve.json
	$(BIN)/dlp replay pcaps/demo/*.pcap pcaps/http/*.pcap $(DEMO_COVERT) --eve out/demo-eve.json --write-streams out/demo-streams
	@echo "== alerts (full events in out/demo-eve.json) =="
	@$(BIN)/python -c "import json; [print(e['alert']['detector'].ljust(12), e['src_ip'], '->', e['dest_ip'] + ':' + str(e.get('dest_port', e['proto'])), e.get('http', {}).get('url', ''), '|', e['alert']['signature'], '|', json.dumps(e.get('covert') or e.get('spi') or e.get('dlp', {}))[:110]) for e in map(json.loads, open('out/demo-eve.json')) if e['event_type'] == 'alert']"

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not corpus" tests

# Real-world captures from ../shared/pcaps/public (read in place); .ci/run runs this after `make test`.
corpus: $(STAMP)
	$(BIN)/python -m pytest -q -m corpus tests

bench: $(STAMP)
	$(BIN)/python -m bench.run

# DNS messages/s through parsing, features and model (beside dpkt), and the covert cost in replay
bench-dns: $(STAMP)
	$(BIN)/python -m bench.dns_bench

# icmp_tunnel + beacon + spi cost beside the bare flow engine
bench-covert: $(STAMP)
	$(BIN)/python -m tools.covert_net.bench

# Live capture: highest zero-drop tcpreplay rate into a veth for 1 and 2 workers (root)
bench-live: $(STAMP)
	$(BIN)/python -m bench.live_rate

# ICAP requests/s and p50/p99 latency, and the key-log path's MB/s beside plain replay (root)
bench-icap: $(STAMP)
	$(BIN)/python -m bench.icap_bench

# Rebuild the shipped DNS tunnel model and its card from the committed captures
model: $(STAMP)
	$(BIN)/dlp train --manifest pcaps/covert/manifest.json --out models/dns_tunnel.skops --public ../shared/data/covert

# Re-record the covert-channel captures with the real tools in namespaces (root, a few minutes)
covert-captures: $(STAMP)
	$(BIN)/python -m tools.covert_dns.record
	$(BIN)/python -m tools.covert_net all

# Regenerate golden expectations after a deliberate behaviour change; review the diff.
goldens: $(STAMP)
	$(BIN)/python -m tools.make_goldens

clean:
	rm -rf $(VENV) out build *.egg-info
