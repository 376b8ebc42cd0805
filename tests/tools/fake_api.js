#!/usr/bin/env node
// fake_api.js — a small paginated JSON API on loopback, for the API example
// and its test. GET /orders?cursor=N[&since=TS] returns
//   {"orders": [{id, customer, amount, ordered_at, updated_at}...], "next": "N+1" | null}
// pages of PAGE orders, in updated_at order, only those updated after `since`
// when it is given. Starts with ORDERS orders; the test changes the data:
//   POST /admin/grow?n=K     K new orders
//   POST /admin/touch?id=I   order I gets a new amount and a later updated_at
//   GET  /admin/all          every order (the test's oracle for the table)
//   GET  /admin/stats        {"requests": GETs of /orders, "items": orders they returned}
// Usage: node fake_api.js PORT [ORDERS] [PAGE]
'use strict';
const http = require('http');
const port = Number(process.argv[2] || 0);
const initial = Number(process.argv[3] || 250);
const page = Number(process.argv[4] || 100);

// updated_at is a logical clock: one second after 2024-03-01 per change
let tick = 0;
function stamp() {
  tick += 1;
  return new Date(Date.UTC(2024, 2, 1) + tick * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

function order(i) {
  const day = 1 + (i % 28);
  return {
    id: i,
    customer: `customer-${i % 17}`,
    amount: Math.round(((i * 7919) % 100000)) / 100,
    ordered_at: `2024-02-${String(day).padStart(2, '0')} 10:${String(i % 60).padStart(2, '0')}:00`,
    updated_at: stamp(),
  };
}

const orders = [];
for (let i = 1; i <= initial; i++) orders.push(order(i));
const stats = { requests: 0, items: 0 };

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/admin/grow' && req.method === 'POST') {
    const n = Number(url.searchParams.get('n') || 1);
    for (let k = 0; k < n; k++) orders.push(order(orders.length + 1));
    return send(res, 200, { total: orders.length });
  }
  if (url.pathname === '/admin/touch' && req.method === 'POST') {
    const o = orders[Number(url.searchParams.get('id')) - 1];
    if (!o) return send(res, 404, { error: 'no such order' });
    o.amount = Math.round(o.amount * 100 + 1234) / 100;
    o.updated_at = stamp();
    return send(res, 200, o);
  }
  if (url.pathname === '/admin/all') return send(res, 200, orders);
  if (url.pathname === '/admin/stats') return send(res, 200, stats);
  if (url.pathname !== '/orders') return send(res, 404, { error: 'not found' });
  const since = url.searchParams.get('since');
  const matching = orders.filter((o) => since === null || o.updated_at > since)
    .sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : a.id - b.id));
  const cursor = Number(url.searchParams.get('cursor') || 0);
  const start = cursor * page;
  const items = matching.slice(start, start + page);
  stats.requests += 1;
  stats.items += items.length;
  send(res, 200, { orders: items, next: start + page < matching.length ? String(cursor + 1) : null });
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
