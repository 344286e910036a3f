import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, formatIpv6 } from '../src/packet-decoder.ts';
import { LinkType, TcpFlag } from '../src/types.ts';
import {
  concat,
  ethernet,
  ethernetIpv4Tcp,
  ethernetIpv6Tcp,
  ipv4Packet,
  ipv4Tcp,
  ipv6Bytes,
  ipv6Packet,
  ipv6Tcp,
  loopLink,
  nullLink,
  sll,
  sll2,
} from '../fixtures/frame-builder.ts';
import { describeDecode } from '../fixtures/make-fixtures.ts';

const base = { src: '192.0.2.1', dst: '198.51.100.2', srcPort: 40000, dstPort: 25, seq: 0xfffffff0, ack: 0x80000001, flags: TcpFlag.PSH | TcpFlag.ACK, payload: 'MAIL FROM:<a@example.com>\r\n', window: 512 };
const base6 = { ...base, src: '2001:db8::1', dst: '2001:db8:0:0:1::2' };

function tcpOf(linkType: number, data: Uint8Array) {
  const d = decodeFrame(linkType, data);
  assert.ok(d.ok, `expected TCP, got ${describeDecode(d)}`);
  return d.tcp;
}

test('Ethernet IPv4 TCP: every field, payload a view into the frame', () => {
  const frame = ethernetIpv4Tcp(base);
  const t = tcpOf(LinkType.ETHERNET, frame);
  assert.equal(t.ipVersion, 4);
  assert.equal(t.src, '192.0.2.1');
  assert.equal(t.dst, '198.51.100.2');
  assert.equal(t.srcPort, 40000);
  assert.equal(t.dstPort, 25);
  assert.equal(t.seq, 0xfffffff0);
  assert.equal(t.ack, 0x80000001);
  assert.equal(t.flags, TcpFlag.PSH | TcpFlag.ACK);
  assert.equal(t.window, 512);
  assert.equal(new TextDecoder().decode(t.payload), base.payload);
  assert.equal(t.payloadLenOnWire, base.payload.length);
  assert.deepEqual(t.vlans, []);
  assert.equal(t.payload.buffer, frame.buffer, 'payload is a view, not a copy');
});

test('IPv4 options and TCP options are skipped by IHL and data offset', () => {
  const ipOptions = Uint8Array.of(0x94, 4, 0, 0, 1, 1, 1, 0); // router alert + NOPs
  const tcpOptions = Uint8Array.of(2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 1, 1);
  const t = tcpOf(LinkType.ETHERNET, ethernetIpv4Tcp({ ...base, ipOptions, tcpOptions }));
  assert.equal(new TextDecoder().decode(t.payload), base.payload);
});

test('Ethernet padding is trimmed by the IPv4 total length', () => {
  const frame = concat(ethernetIpv4Tcp({ ...base, payload: 'ab' }), Uint8Array.of(0xee, 0xee, 0xee, 0xee));
  const t = tcpOf(LinkType.ETHERNET, frame);
  assert.deepEqual([...t.payload], [0x61, 0x62]);
  assert.equal(t.payloadLenOnWire, 2);
});

test('snap length cut: payload shorter than payloadLenOnWire', () => {
  const frame = ethernetIpv4Tcp(base);
  const t = tcpOf(LinkType.ETHERNET, frame.subarray(0, 14 + 20 + 20 + 4));
  assert.equal(t.payload.length, 4);
  assert.equal(t.payloadLenOnWire, base.payload.length);
});

test('TSO capture with IPv4 total length 0 uses the captured length', () => {
  const ip = ipv4Tcp(base);
  ip[2] = 0;
  ip[3] = 0;
  const t = tcpOf(LinkType.RAW, ip);
  assert.equal(t.payloadLenOnWire, base.payload.length);
});

test('VLAN tags 802.1Q, 802.1ad QinQ and 0x9100 are collected outer to inner', () => {
  const ip = ipv4Tcp(base);
  assert.deepEqual(tcpOf(1, ethernet(0x0800, ip, [42])).vlans, [42]);
  assert.deepEqual(tcpOf(1, ethernet(0x0800, ip, [100, 200])).vlans, [100, 200]);
  assert.deepEqual(tcpOf(1, ethernet(0x0800, ip, [7, 8, 9], [0x9100, 0x88a8, 0x8100])).vlans, [7, 8, 9]);
  assert.deepEqual(tcpOf(1, ethernet(0x86dd, ipv6Tcp(base6), [4095])).vlans, [4095]);
});

test('Linux SLL, SLL2, NULL (both byte orders, every AF_INET6 value), LOOP, RAW, IPV4, IPV6', () => {
  const v4 = ipv4Tcp(base);
  const v6 = ipv6Tcp(base6);
  const cases: [string, number, Uint8Array, 4 | 6][] = [
    ['sll v4', LinkType.LINUX_SLL, sll(v4), 4],
    ['sll v6', LinkType.LINUX_SLL, sll(v6), 6],
    ['sll2 v4', LinkType.LINUX_SLL2, sll2(v4), 4],
    ['sll2 v6', LinkType.LINUX_SLL2, sll2(v6), 6],
    ['null le v4', LinkType.NULL, nullLink(v4), 4],
    ['null be v4', LinkType.NULL, nullLink(v4, { littleEndian: false }), 4],
    ['loop v4', LinkType.LOOP, loopLink(v4), 4],
    ['loop v6', LinkType.LOOP, loopLink(v6), 6],
    ['raw v4', LinkType.RAW, v4, 4],
    ['raw v6', LinkType.RAW, v6, 6],
    ['ipv4', LinkType.IPV4, v4, 4],
    ['ipv6', LinkType.IPV6, v6, 6],
  ];
  for (const family of [10, 24, 28, 30]) {
    cases.push([`null le af${family}`, LinkType.NULL, nullLink(v6, { family }), 6]);
    cases.push([`null be af${family}`, LinkType.NULL, nullLink(v6, { family, littleEndian: false }), 6]);
  }
  for (const [name, lt, frame, ver] of cases) {
    const d = decodeFrame(lt, frame);
    assert.ok(d.ok, `${name}: ${describeDecode(d)}`);
    assert.equal(d.tcp.ipVersion, ver, name);
    assert.equal(d.tcp.dstPort, 25, name);
    assert.equal(d.tcp.payloadLenOnWire, base.payload.length, name);
  }
  assert.equal(describeDecode(decodeFrame(LinkType.IPV4, v6)), 'fail ip bad-version');
  assert.equal(describeDecode(decodeFrame(LinkType.NULL, nullLink(v4, { family: 17 }))), 'fail link not-ip');
  assert.equal(describeDecode(decodeFrame(147, v4)), 'fail link unsupported-linktype');
  assert.equal(describeDecode(decodeFrame(1, ethernet(0x0806, new Uint8Array(28)))), 'fail link not-ip');
});

test('IPv6 extension headers: hop-by-hop, routing, destination options, AH; ESP and no-next stop', () => {
  const exts = [{ type: 0 }, { type: 43, body: new Uint8Array(22) }, { type: 60, body: new Uint8Array(14) }, { type: 51, body: new Uint8Array(18) }];
  const t = tcpOf(1, ethernetIpv6Tcp({ ...base6, extHeaders: exts }));
  assert.equal(new TextDecoder().decode(t.payload), base.payload);
  assert.equal(t.payloadLenOnWire, base.payload.length);
  const esp = ethernet(0x86dd, ipv6Packet({ src: '2001:db8::1', dst: '2001:db8::2', protocol: 50, payload: new Uint8Array(40), extHeaders: [{ type: 0 }] }));
  assert.equal(describeDecode(decodeFrame(1, esp)), 'fail ip not-tcp 2001:db8::1>2001:db8::2 p=50');
  const none = ethernet(0x86dd, ipv6Packet({ src: '2001:db8::1', dst: '2001:db8::2', protocol: 59, payload: new Uint8Array(0) }));
  assert.equal(describeDecode(decodeFrame(1, none)), 'fail ip not-tcp 2001:db8::1>2001:db8::2 p=59');
});

test('fragments are reported, not decoded; an IPv6 atomic fragment is decoded', () => {
  const pkt = (fragment: number) => ethernet(0x0800, ipv4Packet({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 6, payload: new Uint8Array(40), fragment }));
  assert.equal(describeDecode(decodeFrame(1, pkt(0x2000))), 'fail ip fragment 192.0.2.1>192.0.2.2 p=6');
  assert.equal(describeDecode(decodeFrame(1, pkt(0x0010))), 'fail ip fragment 192.0.2.1>192.0.2.2 p=6');
  assert.equal(decodeFrame(LinkType.RAW, ipv4Tcp({ ...base, fragment: 0x4000 })).ok, true, 'DF alone is not a fragment');
  const frag6 = (fo: number) => ethernetIpv6Tcp({ ...base6, extHeaders: [{ type: 44, body: Uint8Array.of(fo >> 8, fo & 0xff, 0, 0, 0, 9) }] });
  assert.equal(decodeFrame(1, frag6(0x0008)).ok, false);
  assert.equal(describeDecode(decodeFrame(1, frag6(0x0001))), 'fail ip fragment 2001:db8::1>2001:db8::1:0:0:2 p=6');
  assert.equal(decodeFrame(1, frag6(0)).ok, true);
});

test('non-TCP results carry addresses and protocol', () => {
  const udp = ethernet(0x0800, ipv4Packet({ src: '203.0.113.9', dst: '192.0.2.53', protocol: 17, payload: new Uint8Array(8) }));
  const d = decodeFrame(1, udp);
  assert.deepEqual(d, { ok: false, layer: 'ip', reason: 'not-tcp', src: '203.0.113.9', dst: '192.0.2.53', protocol: 17 });
});

test('truncated at every length gives a value, never a throw, and "truncated" before the TCP header ends', () => {
  const frames: [number, Uint8Array][] = [
    [1, ethernetIpv4Tcp({ ...base, vlans: [1, 2], ipOptions: Uint8Array.of(1, 1, 1, 1), tcpOptions: Uint8Array.of(1, 1, 1, 1) })],
    [1, ethernetIpv6Tcp({ ...base6, extHeaders: [{ type: 0 }, { type: 51 }, { type: 44 }] })],
    [LinkType.LINUX_SLL2, sll2(ipv4Tcp(base))],
    [LinkType.NULL, nullLink(ipv6Tcp(base6))],
  ];
  for (const [lt, frame] of frames) {
    const headerEnd = frame.length - base.payload.length;
    for (let len = 0; len < frame.length; len++) {
      const d = decodeFrame(lt, frame.subarray(0, len));
      if (len < headerEnd) {
        assert.equal(d.ok, false, `len ${len}`);
        assert.equal(d.ok ? '' : d.reason, 'truncated', `len ${len}`);
      } else {
        assert.ok(d.ok, `len ${len}`);
        assert.equal(d.tcp.payload.length, len - headerEnd);
      }
    }
  }
});

test('inconsistent headers: IHL < 5, TCP data offset < 5, IP length shorter than the TCP header', () => {
  const ip = ipv4Tcp(base);
  const badIhl = ip.slice();
  badIhl[0] = 0x44;
  assert.equal(describeDecode(decodeFrame(LinkType.RAW, badIhl)), 'fail ip bad-header');
  const badOff = ip.slice();
  badOff[20 + 12] = 0x40;
  assert.equal(describeDecode(decodeFrame(LinkType.RAW, badOff)), 'fail tcp bad-header 192.0.2.1>198.51.100.2 p=6');
  const short = ipv4Tcp({ ...base, totalLength: 30 });
  assert.equal(describeDecode(decodeFrame(LinkType.RAW, short)), 'fail tcp bad-length 192.0.2.1>198.51.100.2 p=6');
  const tooShortTotal = ipv4Tcp({ ...base, totalLength: 12 });
  assert.equal(describeDecode(decodeFrame(LinkType.RAW, tooShortTotal)), 'fail ip bad-length 192.0.2.1>198.51.100.2 p=6');
});

test('IPv6 addresses in RFC 5952 form', () => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:0db8:0000:0001:0000:0000:0000:0001', '2001:db8:0:1::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['2001:0db8:0001:0000:0001:0001:0001:0001', '2001:db8:1:0:1:1:1:1'],
    ['0000:0000:0000:0000:0000:0000:0000:0000', '::'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['fe80:0000:0000:0000:0000:0000:0000:0000', 'fe80::'],
    ['0000:0000:0000:0000:0000:ffff:c000:020a', '::ffff:192.0.2.10'],
    ['2001:0DB8:ABCD:0012:0000:0000:0000:0000', '2001:db8:abcd:12::'],
    ['0001:0000:0000:0002:0000:0000:0000:0003', '1:0:0:2::3'],
    ['0001:0000:0000:0002:0000:0000:0003:0004', '1::2:0:0:3:4'],
  ];
  for (const [full, want] of cases) {
    const b = new Uint8Array(16);
    full.split(':').forEach((g, i) => {
      const v = parseInt(g, 16);
      b[2 * i] = v >> 8;
      b[2 * i + 1] = v & 0xff;
    });
    assert.equal(formatIpv6(b, 0), want, full);
    assert.deepEqual(ipv6Bytes(want), b, `builder round trip ${want}`);
  }
});

test('IPv4 address cache: many distinct addresses still format correctly', () => {
  for (let i = 0; i < 10_000; i += 7) {
    const src = `10.${(i >> 8) & 255}.${i & 255}.${(i * 3) & 255}`;
    const t = tcpOf(LinkType.RAW, ipv4Tcp({ ...base, src }));
    assert.equal(t.src, src);
  }
});

test('IPv6 address cache: many distinct addresses still format correctly', () => {
  for (let i = 0; i < 10_000; i += 7) {
    const src = `2001:db8:${(((i * 13) & 0xfff) + 1).toString(16)}::${(i + 1).toString(16)}`;
    const t = tcpOf(LinkType.RAW, ipv6Tcp({ ...base6, src }));
    assert.equal(t.src, src);
  }
});

test('fuzz: random and mutated frames never throw', () => {
  let seed = 99;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const seeds = [ethernetIpv4Tcp({ ...base, vlans: [3] }), ethernetIpv6Tcp({ ...base6, extHeaders: [{ type: 0 }, { type: 44 }] }), sll(ipv4Tcp(base)), sll2(ipv6Tcp(base6)), nullLink(ipv4Tcp(base))];
  const lts = [0, 1, 101, 108, 113, 228, 229, 276];
  let ok = 0;
  for (let i = 0; i < 20_000; i++) {
    const s = seeds[i % seeds.length]!.slice();
    for (let k = 0; k < 1 + (i % 6); k++) s[Math.floor(rand() * s.length)] = Math.floor(rand() * 256);
    const frame = s.subarray(0, Math.floor(rand() * (s.length + 1)));
    const d = decodeFrame(lts[Math.floor(rand() * lts.length)]!, frame);
    if (d.ok) {
      ok++;
      assert.ok(d.tcp.payload.length <= d.tcp.payloadLenOnWire);
      assert.ok(d.tcp.payload.byteOffset + d.tcp.payload.length <= frame.byteOffset + frame.length);
    }
  }
  assert.ok(ok > 0, 'some mutated frames still decode');
});
