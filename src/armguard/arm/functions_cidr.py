"""CIDR functions: parseCidr, cidrSubnet, cidrHost (template-functions-cidr)."""

from __future__ import annotations

import ipaddress

from armguard.arm.functions_base import builtin, expect_int, expect_str, fail


def _network(fn: str, value: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    text = expect_str(fn, value)
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise fail(fn, f"expects a CIDR range such as '10.0.0.0/16', got '{text}'") from None


@builtin("parseCidr")
def parse_cidr(network):
    net = _network("parseCidr", network)
    out: dict[str, object] = {"network": str(net.network_address), "netmask": str(net.netmask)}
    if net.version == 4:
        out["broadcast"] = str(net.broadcast_address)
        if net.prefixlen >= 31:
            first, last = net.network_address, net.broadcast_address
        else:
            first, last = net.network_address + 1, net.broadcast_address - 1
    else:
        first, last = net.network_address, net.broadcast_address
    out["firstUsable"] = str(first)
    out["lastUsable"] = str(last)
    out["cidr"] = net.prefixlen
    return out


@builtin("cidrSubnet")
def cidr_subnet(network, new_cidr, subnet_index):
    net = _network("cidrSubnet", network)
    prefix = expect_int("cidrSubnet", new_cidr)
    index = expect_int("cidrSubnet", subnet_index)
    if not net.prefixlen <= prefix <= net.max_prefixlen:
        raise fail("cidrSubnet", f"new CIDR /{prefix} must be between /{net.prefixlen} and /{net.max_prefixlen}")
    count = 1 << (prefix - net.prefixlen)
    if not 0 <= index < count:
        raise fail("cidrSubnet", f"subnet index {index} is out of range: {net} has {count} subnets of /{prefix}")
    size = 1 << (net.max_prefixlen - prefix)
    start = net.network_address + index * size
    return f"{start}/{prefix}"


@builtin("cidrHost")
def cidr_host(network, host_index):
    net = _network("cidrHost", network)
    index = expect_int("cidrHost", host_index)
    # Host 0 is the address after the network address; IPv4 also reserves the broadcast address.
    offset = 1 if net.prefixlen < net.max_prefixlen - 1 else 0
    reserved = (2 if net.version == 4 else 1) if offset else 0
    usable = net.num_addresses - reserved
    if not 0 <= index < usable:
        raise fail("cidrHost", f"host index {index} is out of range for {net} ({usable} usable addresses)")
    return str(net.network_address + offset + index)
