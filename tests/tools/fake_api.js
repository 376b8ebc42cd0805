#!/usr/bin/env node
// fake_api.js — a small paginated JSON API on loopback, for the API example
// and its test. GET /orders?cursor=N returns
//   {"orders": [{id, customer, amount, ordered_at}...], "next": "N+1" | null}
// with ORDERS orders in pages of PAGE. Usage: node fake_api.js PORT [ORDERS] [PAGE]
'use strict';
const http = require('http');
const port = Number(process.argv[2] || 0);
const total = Number(process.argv[3] || 250);
const page = Number(process.argv[4] || 100);

function order(i) {
  const day = 1 + (i % 28);
  return {
    id: i,
    customer: `customer-${i % 17}`,
    amount: Math.round(((i * 7919) % 100000)) / 100,
    ordered_at: `2024-02-${String(day).padStart(2, '0')} 10:${String(i % 60).padStart(2, '0')}:00`,
  };
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname !== '/orders') {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
    return;
  }
  const cursor = Number(url.searchParams.get('cursor') || 0);
  const start = cursor * page;
  const orders = [];
  for (let i = start; i < Math.min(start + page, total); i++) orders.push(order(i + 1));
  const next = start + page < total ? String(cursor + 1) : null;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ orders, next }));
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
