"""Hand-written labelled corpus: realistic snippets of the ten languages (positives) and of
every kind of text that must not be taken for source (negatives)."""

from __future__ import annotations

import base64
import json
import random

POSITIVES: dict[str, list[str]] = {
    "python": [
        '''import os
import json
from dataclasses import dataclass, field


@dataclass
class Invoice:
    number: str
    amount: float
    lines: list = field(default_factory=list)

    def total(self) -> float:
        return sum(line["price"] * line["qty"] for line in self.lines)


def load_invoices(directory):
    result = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(directory, name)) as fh:
            data = json.load(fh)
        result.append(Invoice(data["number"], data["amount"], data.get("lines", [])))
    return result
''',
        '''class RateLimiter:
    """Token bucket limiting calls per client."""

    def __init__(self, rate, burst):
        self.rate = rate
        self.burst = burst
        self._buckets = {}

    def allow(self, client_id, now):
        tokens, last = self._buckets.get(client_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1:
            self._buckets[client_id] = (tokens, now)
            return False
        self._buckets[client_id] = (tokens - 1, now)
        return True

    def reset(self, client_id=None):
        if client_id is None:
            self._buckets.clear()
        else:
            self._buckets.pop(client_id, None)
''',
        '''async def fetch_all(session, urls, limit=10):
    sem = asyncio.Semaphore(limit)
    results = {}

    async def one(url):
        async with sem:
            try:
                async with session.get(url, timeout=30) as resp:
                    resp.raise_for_status()
                    results[url] = await resp.text()
            except aiohttp.ClientError as exc:
                log.warning("fetch failed: %s %s", url, exc)
                results[url] = None

    await asyncio.gather(*(one(u) for u in urls))
    return results


if __name__ == "__main__":
    import asyncio, aiohttp, logging
    log = logging.getLogger(__name__)
    urls = [line.strip() for line in open("urls.txt") if line.strip()]
    print(len(urls))
''',
    ],
    "c_cpp": [
        '''#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 64

typedef struct account {
    char name[MAX_NAME];
    long balance;
    struct account *next;
} account_t;

static account_t *find_account(account_t *head, const char *name)
{
    for (account_t *a = head; a != NULL; a = a->next) {
        if (strcmp(a->name, name) == 0)
            return a;
    }
    return NULL;
}

int transfer(account_t *head, const char *from, const char *to, long amount)
{
    account_t *src = find_account(head, from);
    account_t *dst = find_account(head, to);
    if (!src || !dst || src->balance < amount)
        return -1;
    src->balance -= amount;
    dst->balance += amount;
    return 0;
}
''',
        '''#pragma once
#include <vector>
#include <string>
#include <unordered_map>

namespace billing {

class Ledger {
public:
    explicit Ledger(std::string owner) : owner_(std::move(owner)) {}

    void post(const std::string& account, long cents) {
        balances_[account] += cents;
        history_.push_back({account, cents});
    }

    long balance(const std::string& account) const {
        auto it = balances_.find(account);
        return it == balances_.end() ? 0 : it->second;
    }

private:
    std::string owner_;
    std::unordered_map<std::string, long> balances_;
    std::vector<std::pair<std::string, long>> history_;
};

}  // namespace billing
''',
        '''static int parse_header(const uint8_t *buf, size_t len, struct pkt_header *out)
{
    if (len < sizeof(struct pkt_header))
        return -EINVAL;
    memcpy(out, buf, sizeof(*out));
    out->length = ntohs(out->length);
    out->flags = ntohs(out->flags);
    if (out->version != PKT_VERSION) {
        fprintf(stderr, "bad version %u\\n", out->version);
        return -EPROTO;
    }
    if (out->length > len) {
        return -EMSGSIZE;
    }
    switch (out->type) {
    case PKT_DATA:
    case PKT_ACK:
        break;
    default:
        return -ENOTSUP;
    }
    return 0;
}
''',
    ],
    "java": [
        '''package com.example.billing;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

public class InvoiceService {
    private final InvoiceRepository repository;

    public InvoiceService(InvoiceRepository repository) {
        this.repository = repository;
    }

    public Optional<Invoice> findByNumber(String number) {
        return repository.findAll().stream()
                .filter(i -> i.getNumber().equals(number))
                .findFirst();
    }

    public List<Invoice> overdue(long now) {
        List<Invoice> result = new ArrayList<>();
        for (Invoice invoice : repository.findAll()) {
            if (!invoice.isPaid() && invoice.getDueDate() < now) {
                result.add(invoice);
            }
        }
        return result;
    }
}
''',
        '''@RestController
@RequestMapping("/api/users")
public class UserController {

    @Autowired
    private UserService userService;

    @GetMapping("/{id}")
    public ResponseEntity<User> get(@PathVariable Long id) {
        return userService.find(id)
                .map(ResponseEntity::ok)
                .orElse(ResponseEntity.notFound().build());
    }

    @PostMapping
    public ResponseEntity<User> create(@RequestBody User user) throws ValidationException {
        if (user.getEmail() == null) {
            throw new ValidationException("email required");
        }
        User saved = userService.save(user);
        return ResponseEntity.status(201).body(saved);
    }
}
''',
        '''public final class Retry {
    private Retry() {}

    public static <T> T withBackoff(Callable<T> task, int attempts, long delayMillis)
            throws Exception {
        Exception last = null;
        for (int i = 0; i < attempts; i++) {
            try {
                return task.call();
            } catch (IOException e) {
                last = e;
                System.err.println("attempt " + i + " failed: " + e.getMessage());
                Thread.sleep(delayMillis * (1L << i));
            }
        }
        throw last;
    }

    public static void main(String[] args) throws Exception {
        String body = withBackoff(() -> fetch(args[0]), 5, 200);
        System.out.println(body.length());
    }
}
''',
    ],
    "javascript": [
        '''const express = require('express');
const { Pool } = require('pg');

const app = express();
const pool = new Pool({ connectionString: process.env.DATABASE_URL });

app.use(express.json());

app.get('/api/orders/:id', async (req, res) => {
  try {
    const { rows } = await pool.query('SELECT * FROM orders WHERE id = $1', [req.params.id]);
    if (rows.length === 0) {
      return res.status(404).json({ error: 'not found' });
    }
    res.json(rows[0]);
  } catch (err) {
    console.error(err);
    res.status(500).json({ error: 'internal' });
  }
});

app.listen(3000, () => console.log('listening on 3000'));
''',
        '''import React, { useState, useEffect } from 'react';
import { fetchCart } from '../api/cart';

export default function Cart({ userId }) {
  const [items, setItems] = useState([]);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    let cancelled = false;
    fetchCart(userId).then((data) => {
      if (!cancelled) {
        setItems(data.items);
        setLoading(false);
      }
    });
    return () => { cancelled = true; };
  }, [userId]);

  const total = items.reduce((sum, item) => sum + item.price * item.qty, 0);
  if (loading) return null;
  return <div className="cart">{items.length} items, total {total}</div>;
}
''',
        '''export interface Order {
  id: string;
  customer: string;
  amount: number;
  paid: boolean;
}

export type OrderFilter = (order: Order) => boolean;

export class OrderStore {
  private orders: Map<string, Order> = new Map();

  add(order: Order): void {
    if (this.orders.has(order.id)) {
      throw new Error(`duplicate order ${order.id}`);
    }
    this.orders.set(order.id, order);
  }

  unpaid(filter?: OrderFilter): Order[] {
    return Array.from(this.orders.values()).filter((o) => !o.paid && (!filter || filter(o)));
  }
}
''',
    ],
    "go": [
        '''package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
)

type Order struct {
	ID     string  `json:"id"`
	Amount float64 `json:"amount"`
}

func handleOrder(w http.ResponseWriter, r *http.Request) {
	var o Order
	if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "order %s accepted\\n", o.ID)
}

func main() {
	http.HandleFunc("/orders", handleOrder)
	log.Fatal(http.ListenAndServe(":8080", nil))
}
''',
        '''func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	item, ok := s.items[key]
	if !ok {
		return nil, ErrNotFound
	}
	if item.expires.Before(time.Now()) {
		return nil, ErrExpired
	}
	return item.value, nil
}

func (s *Store) Set(key string, value []byte, ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[key] = entry{value: value, expires: time.Now().Add(ttl)}
}

func NewStore() *Store {
	return &Store{items: make(map[string]entry)}
}
''',
        '''func worker(id int, jobs <-chan Job, results chan<- Result, wg *sync.WaitGroup) {
	defer wg.Done()
	for job := range jobs {
		res, err := process(job)
		if err != nil {
			log.Printf("worker %d: job %d failed: %v", id, job.ID, err)
			continue
		}
		results <- res
	}
}

func runPool(jobs []Job, n int) []Result {
	in := make(chan Job)
	out := make(chan Result, len(jobs))
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go worker(i, in, out, &wg)
	}
	go func() {
		for _, j := range jobs {
			in <- j
		}
		close(in)
	}()
	wg.Wait()
	close(out)
	return collect(out)
}
''',
    ],
    "rust": [
        '''use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead};

#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub balance: i64,
}

pub fn load(path: &str) -> io::Result<HashMap<String, Account>> {
    let file = fs::File::open(path)?;
    let mut accounts = HashMap::new();
    for line in io::BufReader::new(file).lines() {
        let line = line?;
        let mut parts = line.split(',');
        let name = parts.next().unwrap_or_default().to_string();
        let balance: i64 = parts.next().and_then(|b| b.parse().ok()).unwrap_or(0);
        accounts.insert(name.clone(), Account { name, balance });
    }
    Ok(accounts)
}
''',
        '''impl Ledger {
    pub fn new() -> Self {
        Ledger { entries: Vec::new(), total: 0 }
    }

    pub fn post(&mut self, amount: i64, memo: &str) -> Result<(), LedgerError> {
        if amount == 0 {
            return Err(LedgerError::ZeroAmount);
        }
        self.total += amount;
        self.entries.push(Entry { amount, memo: memo.to_owned() });
        Ok(())
    }

    pub fn balance(&self) -> i64 {
        self.total
    }
}

impl fmt::Display for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} entries, balance {}", self.entries.len(), self.total)
    }
}
''',
        '''async fn handle(req: Request<Body>, state: Arc<AppState>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    let response = match (req.method(), path.as_str()) {
        (&Method::GET, "/health") => Response::new(Body::from("ok")),
        (&Method::GET, p) if p.starts_with("/users/") => {
            let id = &p["/users/".len()..];
            match state.users.lock().await.get(id) {
                Some(user) => Response::new(Body::from(serde_json::to_string(user).unwrap())),
                None => not_found(),
            }
        }
        _ => not_found(),
    };
    Ok(response)
}

fn not_found() -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}
''',
    ],
    "shell": [
        '''#!/bin/bash
set -euo pipefail

BACKUP_DIR="/var/backups/db"
RETENTION_DAYS=14
STAMP=$(date +%Y%m%d-%H%M%S)

mkdir -p "$BACKUP_DIR"

if ! command -v pg_dump >/dev/null 2>&1; then
    echo "pg_dump not found" >&2
    exit 1
fi

for db in $(psql -At -c "select datname from pg_database where not datistemplate"); do
    echo "dumping $db"
    pg_dump --format=custom "$db" > "$BACKUP_DIR/${db}-${STAMP}.dump"
done

find "$BACKUP_DIR" -name '*.dump' -mtime +"$RETENTION_DAYS" -delete
echo "done"
''',
        '''deploy() {
    local env="$1"
    local tag="${2:-latest}"
    case "$env" in
        staging|production)
            ;;
        *)
            echo "unknown environment: $env" >&2
            return 2
            ;;
    esac
    docker pull "registry.internal/app:${tag}"
    docker stop app 2>/dev/null || true
    docker rm app 2>/dev/null || true
    docker run -d --name app --env-file "/etc/app/${env}.env" "registry.internal/app:${tag}"
}

while getopts "e:t:" opt; do
    case $opt in
        e) ENVIRONMENT=$OPTARG ;;
        t) TAG=$OPTARG ;;
    esac
done
deploy "$ENVIRONMENT" "$TAG"
''',
        '''#!/bin/sh
# rotate application logs
LOG_DIR=/var/log/app
MAX=5

cd "$LOG_DIR" || exit 1
for f in *.log; do
    [ -f "$f" ] || continue
    i=$MAX
    while [ $i -gt 1 ]; do
        prev=$((i - 1))
        if [ -f "$f.$prev.gz" ]; then
            mv "$f.$prev.gz" "$f.$i.gz"
        fi
        i=$prev
    done
    gzip -c "$f" > "$f.1.gz" && : > "$f"
done
ls -1 | grep -c '\\.gz$' | xargs echo "archives:"
''',
    ],
    "sql": [
        '''CREATE TABLE customers (
    id          SERIAL PRIMARY KEY,
    email       VARCHAR(255) NOT NULL UNIQUE,
    full_name   VARCHAR(200) NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT NOW()
);

CREATE TABLE orders (
    id           SERIAL PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    amount_cents BIGINT NOT NULL,
    status       VARCHAR(20) NOT NULL DEFAULT 'new',
    created_at   TIMESTAMP NOT NULL DEFAULT NOW()
);

CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE INDEX orders_status_idx ON orders (status) WHERE status <> 'done';
''',
        '''SELECT c.id,
       c.email,
       COUNT(o.id)            AS orders,
       SUM(o.amount_cents)    AS revenue,
       MAX(o.created_at)      AS last_order
FROM customers c
LEFT JOIN orders o ON o.customer_id = c.id
WHERE c.created_at >= NOW() - INTERVAL '90 days'
  AND o.status IN ('paid', 'shipped')
GROUP BY c.id, c.email
HAVING SUM(o.amount_cents) > 100000
ORDER BY revenue DESC
LIMIT 50;

UPDATE orders
SET status = 'archived'
WHERE created_at < NOW() - INTERVAL '2 years'
  AND status = 'done';
''',
        '''create or replace function refresh_balances() returns trigger as $$
begin
    update accounts
       set balance = balance + new.amount
     where id = new.account_id;
    insert into audit_log (account_id, amount, changed_at)
    values (new.account_id, new.amount, now());
    return new;
end;
$$ language plpgsql;

create trigger ledger_after_insert
    after insert on ledger
    for each row execute function refresh_balances();

select a.id, a.balance, count(l.id) as entries
  from accounts a
  join ledger l on l.account_id = a.id
 group by a.id, a.balance
 order by a.balance desc;
''',
    ],
    "php": [
        '''<?php

namespace App\\Http\\Controllers;

use App\\Models\\Order;
use Illuminate\\Http\\Request;

class OrderController extends Controller
{
    public function index(Request $request)
    {
        $orders = Order::where('user_id', $request->user()->id)
            ->orderBy('created_at', 'desc')
            ->paginate(20);
        return view('orders.index', ['orders' => $orders]);
    }

    public function store(Request $request)
    {
        $data = $request->validate(['amount' => 'required|numeric']);
        $order = Order::create($data + ['user_id' => $request->user()->id]);
        return redirect()->route('orders.show', $order);
    }
}
''',
        '''<?php
require_once 'config.php';

$pdo = new PDO($dsn, $user, $pass, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);

if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $email = trim($_POST['email'] ?? '');
    if (!filter_var($email, FILTER_VALIDATE_EMAIL)) {
        http_response_code(400);
        echo json_encode(['error' => 'invalid email']);
        exit;
    }
    $stmt = $pdo->prepare('INSERT INTO subscribers (email) VALUES (?)');
    $stmt->execute([$email]);
    echo json_encode(['ok' => true]);
}

foreach ($pdo->query('SELECT email FROM subscribers') as $row) {
    echo htmlspecialchars($row['email']) . "<br>";
}
''',
        '''function calculate_discount(array $items, $coupon = null)
{
    $total = 0;
    foreach ($items as $item) {
        $total += $item['price'] * $item['qty'];
    }
    if ($coupon !== null && isset($coupon['percent'])) {
        $total = $total * (100 - $coupon['percent']) / 100;
    }
    return round($total, 2);
}

class Cart
{
    private $items = array();

    public function add($sku, $price, $qty = 1)
    {
        $this->items[$sku] = array('price' => $price, 'qty' => $qty);
    }

    public function total()
    {
        return calculate_discount(array_values($this->items));
    }
}
''',
    ],
    "csharp": [
        '''using System;
using System.Collections.Generic;
using System.Linq;

namespace Billing.Services
{
    public class InvoiceService
    {
        private readonly IInvoiceRepository _repository;

        public InvoiceService(IInvoiceRepository repository)
        {
            _repository = repository ?? throw new ArgumentNullException(nameof(repository));
        }

        public IEnumerable<Invoice> Overdue(DateTime now)
        {
            return _repository.All()
                .Where(i => !i.Paid && i.DueDate < now)
                .OrderBy(i => i.DueDate)
                .ToList();
        }
    }
}
''',
        '''public class Customer
{
    public int Id { get; set; }
    public string Name { get; set; }
    public string Email { get; init; }
    public List<Order> Orders { get; } = new List<Order>();

    public decimal TotalSpent()
    {
        decimal total = 0;
        foreach (var order in Orders)
        {
            if (order.Status == OrderStatus.Paid)
            {
                total += order.Amount;
            }
        }
        return total;
    }

    public override string ToString() => $"{Name} <{Email}>";
}
''',
        '''[ApiController]
[Route("api/[controller]")]
public class OrdersController : ControllerBase
{
    private readonly ILogger<OrdersController> _logger;
    private readonly AppDbContext _db;

    public OrdersController(ILogger<OrdersController> logger, AppDbContext db)
    {
        _logger = logger;
        _db = db;
    }

    [HttpGet("{id}")]
    public async Task<IActionResult> Get(int id, CancellationToken ct)
    {
        var order = await _db.Orders.FindAsync(new object[] { id }, ct);
        if (order == null)
        {
            _logger.LogWarning("order {Id} not found", id);
            return NotFound();
        }
        return Ok(order);
    }
}
''',
    ],
}


def _minified_js(seed: int) -> str:
    rng = random.Random(seed)
    names = ["a", "b", "c", "d", "e", "f", "n", "r", "t", "o", "i", "s", "u"]
    parts = ['/*! app.bundle v3.2.1 | (c) Example Corp */']
    body = []
    for i in range(400):
        v = rng.choice(names)
        w = rng.choice(names)
        body.append(rng.choice([
            f"function {v}{i}({w},{v}){{return {w}&&{v}.length>{i}?{w}[{v}]:void 0}}",
            f"var {v}{i}={w}.map(function({v}){{return {v}*{i}}});",
            f"{v}.prototype.{w}{i}=function(){{this.x{i}=!0;return this}};",
            f"if(!{v}||{w}==={i})throw new Error(\"e{i}\");",
            f"{v}{i}=({w}=document.getElementById(\"n{i}\"))?{w}.value:null;",
        ]))
    parts.append("!function(e,t){\"use strict\";" + "".join(body) + "}(window,document);")
    return "\n".join(parts)


def _html_page() -> str:
    rows = "\n".join(f"      <tr><td>{i}</td><td>Item {i}</td><td>${i * 3}.00</td></tr>" for i in range(12))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Quarterly report</title>
  <link rel="stylesheet" href="/static/site.css">
  <script>
    window.dataLayer = window.dataLayer || [];
    function gtag() {{ dataLayer.push(arguments); }}
    gtag('js', new Date());
    gtag('config', 'G-XXXX');
    document.addEventListener('DOMContentLoaded', function () {{
      var el = document.getElementById('year');
      if (el) {{ el.textContent = new Date().getFullYear(); }}
    }});
  </script>
</head>
<body>
  <header><h1>Quarterly report</h1><nav><a href="/">Home</a> | <a href="/about">About</a></nav></header>
  <main>
    <p>Revenue grew by 12% compared to the previous quarter, driven by the new subscription plans.</p>
    <table>
{rows}
    </table>
  </main>
  <footer>&copy; <span id="year"></span> Example Corp</footer>
</body>
</html>
"""


NEGATIVES: dict[str, list[str]] = {
    "prose": [
        """The committee met on Tuesday to review the proposal for the new office layout. After a
long discussion, the members agreed that the open-plan area on the third floor should be
divided into smaller rooms, because several teams had complained about noise during calls.
The facilities manager will prepare two alternative plans and present the costs at the next
meeting. In the meantime, staff are encouraged to book the quiet rooms on the second floor
when they need to concentrate.

Several people raised the question of parking. The current arrangement, in which spaces are
allocated on a first-come, first-served basis, is not working well for those who arrive later
in the morning because of school runs. A rota was suggested, but some felt it would be
difficult to administer. It was decided to run a short survey before making any change.

Finally, the committee thanked the volunteers who organised the summer party. The event was a
great success and raised a significant amount for the local food bank. Next year's party will
probably be held in the same venue, although the date has not been fixed yet.
""",
        """It was late in the afternoon when the train finally pulled into the station. The platform
was crowded with travellers who had been waiting for hours, and the announcements had done
little to calm their frustration. Maria picked up her bag, stepped down onto the wet concrete
and looked around for her brother, who had promised to meet her.

He was nowhere to be seen. She checked her phone: no messages, no missed calls. For a moment
she considered taking a taxi, but the queue outside stretched all the way to the corner of
the street. Instead she bought a coffee from the kiosk and sat down on a bench, watching the
pigeons fight over the crumbs of somebody's sandwich.

Twenty minutes later he came running through the gate, out of breath and apologising. The
car had broken down on the motorway, he explained, and he had walked the last two miles.
She laughed, handed him the second coffee she had bought just in case, and together they set
off towards the bus stop, talking about everything that had happened since the summer.
""",
    ],
    "email": [
        """From: Alice Martin <alice.martin@example.com>
To: Operations Team <ops@example.com>
Cc: Bob Chen <bob.chen@example.com>
Subject: Re: Maintenance window on Saturday
Date: Thu, 14 Mar 2024 09:12:44 +0100
Message-ID: <20240314091244.12345@mail.example.com>

Hi all,

Thanks for the quick turnaround on the change request. I have two questions before we
confirm the window:

1. Will the database failover be tested before or after the storage upgrade?
2. Who is on call from the vendor side if the firmware update takes longer than planned?

Could you also send the rollback plan to the change board by Friday noon? They asked for it
explicitly in the last meeting.

Best regards,
Alice

On Wed, 13 Mar 2024 at 17:40, Bob Chen <bob.chen@example.com> wrote:
> We propose Saturday 02:00-06:00 UTC for the storage upgrade.
> The services in the list below will be unavailable for about twenty minutes.
> Please let us know if this conflicts with any release.
""",
        """Hello Jonathan,

I hope this message finds you well. I am writing to follow up on our conversation last week
regarding the partnership proposal. Our legal team has reviewed the draft agreement and has a
few comments, which I have attached as a separate document.

In summary, they would like to clarify the termination clause, the ownership of jointly
developed materials, and the process for resolving disputes. None of these points should be
difficult, but we would prefer to settle them before the signing date.

Would you be available for a call on Monday or Tuesday afternoon? I can also come to your
office if that is more convenient. Please let me know what works best for you.

Kind regards,

Sarah O'Neill
Head of Partnerships
Example Corp | 221 Market Street | Springfield
Phone: +1 555 0100
""",
    ],
    "markdown": [
        """# Deployment guide

This document explains how to deploy the reporting service to the staging and production
environments. Read it fully before your first deployment.

## Prerequisites

- Access to the internal container registry
- A valid VPN certificate
- Membership of the `deployers` group

## Steps

1. Build the image with `make image`.
2. Push it with `make push TAG=<version>`.
3. Run the deployment job in the CI system and choose the environment.

```sh
make image
make push TAG=1.4.2
```

> **Note:** production deployments need the approval of a second engineer.

## Troubleshooting

If the health check fails, look at the service logs in the dashboard. The most common cause
is a missing environment variable; compare your settings with the table in the wiki.

| Variable | Meaning |
|----------|---------|
| `DB_URL` | Database connection string |
| `LOG_LEVEL` | One of debug, info, warn |
""",
        """# Project Phoenix

Phoenix is our next-generation billing platform. It replaces the legacy invoicing system and
adds support for usage-based pricing, multiple currencies and partner settlements.

## Goals

* Reduce invoice generation time from hours to minutes
* Make pricing rules configurable by the finance team without code changes
* Provide a clear audit trail for every adjustment

## Non-goals

* Replacing the payment gateway (this stays as it is for now)
* Migrating historical invoices older than seven years

## Timeline

The first milestone is an internal pilot with two customers in the second quarter. A general
release is planned for the end of the year, provided the pilot results are satisfactory.

## Contacts

Questions go to the #phoenix channel or to the project lead, Dana Whitfield.
""",
    ],
    "html": [_html_page()],
    "json": [
        json.dumps({"users": [{"id": i, "name": f"user{i}", "email": f"user{i}@example.com",
                               "roles": ["reader", "writer"][: 1 + i % 2], "active": i % 3 != 0}
                              for i in range(25)]}, indent=2),
        "\n".join(json.dumps({"ts": 1710400000 + i, "event": "click", "page": f"/p/{i}",
                              "user": i * 7}) for i in range(30)),
    ],
    "csv": [
        "order_id,customer,amount,currency,status,created\n" + "\n".join(
            f"{1000 + i},customer{i},{i * 13.5:.2f},EUR,{'paid' if i % 2 else 'open'},2024-03-{1 + i % 28:02d}"
            for i in range(30)),
        "name;department;phone;office\n" + "\n".join(
            f"Employee {i};Dept {i % 5};+1 555 01{i:02d};Building {i % 3}" for i in range(25)),
    ],
    "yaml": [
        """apiVersion: apps/v1
kind: Deployment
metadata:
  name: reporting
  namespace: analytics
  labels:
    app: reporting
spec:
  replicas: 3
  selector:
    matchLabels:
      app: reporting
  template:
    metadata:
      labels:
        app: reporting
    spec:
      containers:
        - name: reporting
          image: registry.internal/reporting:1.4.2
          ports:
            - containerPort: 8080
          env:
            - name: LOG_LEVEL
              value: info
          resources:
            limits:
              memory: 512Mi
              cpu: 500m
""",
        """# CI pipeline
stages:
  - build
  - test
  - deploy

variables:
  DOCKER_DRIVER: overlay2
  IMAGE: registry.internal/app

build:
  stage: build
  script:
    - docker build -t $IMAGE:$CI_COMMIT_SHA .
    - docker push $IMAGE:$CI_COMMIT_SHA

test:
  stage: test
  script:
    - make test
  artifacts:
    reports:
      junit: report.xml

deploy:
  stage: deploy
  only:
    - main
  script:
    - ./deploy.sh production
""",
    ],
    "ini": [
        """; application settings
[database]
host = db.internal
port = 5432
name = reporting
user = report_ro
pool_size = 10
timeout = 30

[cache]
backend = redis
url = redis://cache.internal:6379/0
ttl = 300

[logging]
level = INFO
file = /var/log/reporting/app.log
rotate = daily
keep = 14

[features]
new_dashboard = true
export_pdf = false
""",
        """[Unit]
Description=Reporting service
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=reporting
Group=reporting
EnvironmentFile=/etc/reporting/env
ExecStart=/usr/local/bin/reporting --config /etc/reporting/app.ini
Restart=on-failure
RestartSec=5
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
""",
    ],
    "toml": [
        """[package]
name = "ledger"
version = "0.3.1"
edition = "2021"
authors = ["Finance Platform Team <fp@example.com>"]
license = "Proprietary"

[dependencies]
serde = { version = "1.0", features = ["derive"] }
serde_json = "1.0"
tokio = { version = "1", features = ["full"] }
hyper = "0.14"

[dev-dependencies]
proptest = "1.0"

[profile.release]
lto = true
codegen-units = 1
""",
    ],
    "xml": [
        """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>billing</artifactId>
  <version>2.1.0</version>
  <packaging>jar</packaging>
  <dependencies>
    <dependency>
      <groupId>org.springframework.boot</groupId>
      <artifactId>spring-boot-starter-web</artifactId>
    </dependency>
    <dependency>
      <groupId>junit</groupId>
      <artifactId>junit</artifactId>
      <version>4.13.2</version>
      <scope>test</scope>
    </dependency>
  </dependencies>
</project>
""",
    ],
    "syslog": ["\n".join(
        f"Mar {10 + i % 5} 0{i % 10}:{i:02d}:1{i % 10} web0{i % 3} "
        + ["sshd[1234]: Accepted publickey for deploy from 10.0.0.5 port 52214 ssh2",
           "kernel: [12345.678] eth0: link up, 1000 Mbps, full duplex",
           "CRON[4321]: (root) CMD (/usr/local/bin/backup.sh > /dev/null 2>&1)",
           "systemd[1]: Started Daily apt upgrade and clean activities.",
           "nginx[987]: 2024/03/14 10:00:01 [error] 987#0: *1 connect() failed (111: Connection refused)"][i % 5]
        for i in range(30))],
    "nginx_access": ["\n".join(
        f'10.1.{i % 7}.{i} - - [14/Mar/2024:10:{i:02d}:01 +0000] "GET /api/orders/{i}?page={i % 4} HTTP/1.1" '
        f'{[200, 200, 404, 304][i % 4]} {512 + i * 31} "https://shop.example.com/cart" '
        f'"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36"'
        for i in range(30))],
    "app_log": ["\n".join(
        f"2024-03-14T10:{i:02d}:0{i % 10}.123Z {['INFO', 'WARN', 'ERROR', 'DEBUG'][i % 4]} "
        f"[worker-{i % 4}] c.e.billing.InvoiceJob - processed batch={i} invoices={i * 3} took={i * 7}ms"
        for i in range(30))],
    "java_stacktrace": ["""2024-03-14 10:15:22.481 ERROR 4242 --- [nio-8080-exec-3] o.a.c.c.C.[.[.[/].[dispatcherServlet] : Servlet.service() threw exception
java.lang.NullPointerException: Cannot invoke "com.example.billing.Customer.getEmail()" because "customer" is null
	at com.example.billing.InvoiceService.send(InvoiceService.java:88)
	at com.example.billing.InvoiceService.sendAll(InvoiceService.java:61)
	at com.example.billing.web.InvoiceController.send(InvoiceController.java:42)
	at java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
	at java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke(NativeMethodAccessorImpl.java:77)
	at java.base/java.lang.reflect.Method.invoke(Method.java:568)
	at org.springframework.web.method.support.InvocableHandlerMethod.doInvoke(InvocableHandlerMethod.java:205)
	at org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:883)
	at javax.servlet.http.HttpServlet.service(HttpServlet.java:764)
	at org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:227)
	at org.apache.catalina.core.StandardWrapperValve.invoke(StandardWrapperValve.java:197)
	at org.apache.tomcat.util.threads.TaskThread$WrappingRunnable.run(TaskThread.java:61)
	at java.base/java.lang.Thread.run(Thread.java:833)
Caused by: java.sql.SQLException: Connection is not available, request timed out after 30000ms.
	at com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)
	at com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:197)
	at com.example.billing.CustomerRepository.find(CustomerRepository.java:30)
	... 24 more
"""],
    "python_traceback": ["""Traceback (most recent call last):
  File "/srv/app/venv/lib/python3.11/site-packages/flask/app.py", line 2190, in wsgi_app
    response = self.full_dispatch_request()
  File "/srv/app/venv/lib/python3.11/site-packages/flask/app.py", line 1486, in full_dispatch_request
    rv = self.handle_user_exception(e)
  File "/srv/app/venv/lib/python3.11/site-packages/flask/app.py", line 1484, in full_dispatch_request
    rv = self.dispatch_request()
  File "/srv/app/reporting/views.py", line 57, in export
    rows = build_rows(query, since=request.args["since"])
  File "/srv/app/reporting/export.py", line 112, in build_rows
    for record in session.execute(query).scalars():
  File "/srv/app/venv/lib/python3.11/site-packages/sqlalchemy/orm/session.py", line 2308, in execute
    return self._execute_internal(
  File "/srv/app/venv/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 1969, in _exec_single_context
    self.dialect.do_execute(
  File "/srv/app/venv/lib/python3.11/site-packages/sqlalchemy/engine/default.py", line 922, in do_execute
    cursor.execute(statement, parameters)
sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) server closed the connection unexpectedly
	This probably means the server terminated abnormally
	before or while processing the request.
"""],
    "go_panic": ["""panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x6c3b2e]

goroutine 42 [running]:
main.(*Store).Get(0x0, {0x7ffd5c, 0x5})
	/src/app/store.go:61 +0x2e
main.handleGet({0x8a4f20, 0xc0001a2000}, 0xc0001b4000)
	/src/app/handlers.go:33 +0x96
net/http.HandlerFunc.ServeHTTP(0x0?, {0x8a4f20?, 0xc0001a2000?}, 0x0?)
	/usr/local/go/src/net/http/server.go:2136 +0x29
net/http.(*ServeMux).ServeHTTP(0x0?, {0x8a4f20, 0xc0001a2000}, 0xc0001b4000)
	/usr/local/go/src/net/http/server.go:2514 +0x142
net/http.serverHandler.ServeHTTP({0xc000112f30?}, {0x8a4f20, 0xc0001a2000}, 0xc0001b4000)
	/usr/local/go/src/net/http/server.go:2938 +0x2bd
net/http.(*conn).serve(0xc00011e000, {0x8a5350, 0xc000112e40})
	/usr/local/go/src/net/http/server.go:2009 +0x612
created by net/http.(*Server).Serve in goroutine 1
	/usr/local/go/src/net/http/server.go:3086 +0x4db
exit status 2
"""],
    "minified_js": [_minified_js(1), _minified_js(2)],
    "base64": [
        "\n".join(base64.encodebytes(bytes(random.Random(5).randrange(256) for _ in range(3000))).decode().split("\n")),
        "data=" + base64.b64encode(bytes(random.Random(6).randrange(256) for _ in range(4000))).decode(),
    ],
}
