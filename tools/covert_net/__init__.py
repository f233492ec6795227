"""Capture generators for the session detectors (icmp_tunnel, beacon, spi): real tools
(ptunnel-ng, ping, hping3, nping, nmap, curl) in network namespaces, tcpdump writing the pcap.

    python -m tools.covert_net [icmp|spi|beacon|all] [--out pcaps]     # root

Every run is bounded (counts and timeouts) and talks only between namespaces it creates
(names start with "dlp4e"); see docs/covert-icmp-beacon-spi.md for what each capture holds.
"""
