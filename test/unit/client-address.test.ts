/**
 * Reading the client address from forwarding headers, and the trustedProxies option's check.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configFrom, isAddressOrCidr } from '../../src/config.js';
import { ClientAddresses } from '../../src/server/client-address.js';

describe('ClientAddresses', () => {
  const trust = new ClientAddresses(['10.0.0.0/8', '192.0.2.1', 'fd00::/8']);

  it('believes forwarding headers only from trusted peers', () => {
    assert.equal(trust.resolve('203.0.113.9', '', '198.51.100.1'), '203.0.113.9');
    assert.equal(trust.resolve('10.1.2.3', '', '198.51.100.1'), '198.51.100.1');
    assert.equal(trust.resolve('::ffff:10.1.2.3', '', '198.51.100.1'), '198.51.100.1', 'IPv4-mapped peers');
    assert.equal(new ClientAddresses([]).resolve('10.1.2.3', '', '198.51.100.1'), '10.1.2.3', 'off when the list is empty');
  });

  it('takes the right-most untrusted hop of X-Forwarded-For', () => {
    assert.equal(trust.resolve('10.0.0.1', '', '1.1.1.1, 198.51.100.1, 10.0.0.2, 192.0.2.1'), '198.51.100.1');
    assert.equal(trust.resolve('10.0.0.1', '', '10.0.0.3, 10.0.0.2'), '10.0.0.3', 'all trusted: the left-most');
    assert.equal(trust.resolve('10.0.0.1', '', ''), '10.0.0.1', 'no header: the proxy itself');
    assert.equal(trust.resolve('10.0.0.1', '', '198.51.100.1, unknown'), '10.0.0.1', 'a hop that is no address stops the walk');
    assert.equal(trust.resolve('10.0.0.1', '', '198.51.100.1:5555'), '198.51.100.1', 'a port is dropped');
  });

  it('reads Forwarded: for= (quoted, bracketed IPv6, with port), and prefers it to X-Forwarded-For', () => {
    assert.equal(trust.resolve('10.0.0.1', 'for=198.51.100.1;proto=https, for="[2001:db8::5]:80"', '1.1.1.1'), '2001:db8::5');
    assert.equal(trust.resolve('fd00::1', 'For="[fd00::2]", for=198.51.100.1', ''), '198.51.100.1');
    assert.equal(trust.resolve('10.0.0.1', 'for=_hidden', ''), '10.0.0.1');
  });

  it('the option accepts addresses and CIDRs and refuses anything else', () => {
    for (const ok of ['10.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', '0.0.0.0/0']) assert.equal(isAddressOrCidr(ok), true, ok);
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'localhost', '10.0.0.1/8/8', '10.0.0.0/x', '']) assert.equal(isAddressOrCidr(bad), false, bad);
    assert.throws(() => configFrom({ trustedProxies: ['10.0.0.0/33'] }), /trustedProxies: "10\.0\.0\.0\/33" is not an IP address or CIDR/);
  });
});
