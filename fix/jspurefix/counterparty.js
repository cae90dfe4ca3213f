#!/usr/bin/env node
// An independent FIX 4.4 counterparty for the tickwire gateway, on the
// jspurefix engine (MIT, pure TypeScript/Node) with the FIX repository's
// FIX.4.4 dictionary (not QuickFIX's XML): it logs on, sends D, G and F
// messages and checks every 8 and 9 the gateway answers with.
//
//   node counterparty.js --host 127.0.0.1 --port 5001 --sender JSCLIENT --target TICKWIRE
//
// With --scenario stale-reject or stale-hold and --feed http://HOST:PORT
// (the feed server whose EURUSD the gateway trades on) it checks the auto
// venue's price guard instead: it pauses EURUSD's source (POST
// /sources/pause/EURUSD), waits until GET /topics/EURUSD says stale, sends
// orders that would trade, resumes the source and checks that nothing
// filled on the stale price (the feed's source moves to 1.2000/1.2002 once
// paused, so a fill on the stale price would say 1.1002).
//
// The gateway must run its auto venue with EURUSD priced (a market buy
// fills at once, a limit buy at 1.05 rests). Desk orders (HandlInst=3) are
// worked by whoever runs this script: it prints "DESK <op> <ClOrdID>
// [args]" (accept, reject, fill QTY, correct EXECID QTY, bust EXECID,
// acceptcancel, cancel, dfd) and waits for a line "ok" or "err <why>" on
// stdin (fix/jspurefix_test.go does it through the gateway's Desk).
// Prints one line per check ("ok ..." or "FAIL ...") and "RESULT pass N" or
// "RESULT fail N/M"; exits 0 only when every check passed. Quirks (REFERENCE §2): the session key is
// SenderCompId (lower-case d), BodyLength is zero-padded (quickfix accepts
// it), the message store is in memory, so the session logs on with
// ResetSeqNumFlag=Y.
'use strict'
require('reflect-metadata')
const readline = require('readline')
const { SessionLauncher, AsciiSession, JsFixWinstonLogFactory, WinstonLogger } = require('jspurefix')

function arg (name, def) {
  const i = process.argv.indexOf('--' + name)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def
}

const host = arg('host', '127.0.0.1')
const port = parseInt(arg('port', '5001'), 10)
const sender = arg('sender', 'JSCLIENT')
const target = arg('target', 'TICKWIRE')
const timeoutMs = parseInt(arg('timeout-ms', '30000'), 10)
const scenarioName = arg('scenario', 'orders')
const feed = arg('feed', '')

async function feedCall (method, path) {
  // POSTs must say JSON: the server refuses other media types (415).
  const headers = method === 'POST' ? { 'Content-Type': 'application/json' } : {}
  const res = await fetch(feed + path, { method, headers })
  if (!res.ok) throw new Error(method + ' ' + path + ': ' + res.status)
  return method === 'GET' ? res.json() : null
}

// waitStale polls the feed until EURUSD's stale mark is stale.
async function waitStale (stale) {
  const deadline = Date.now() + 10000
  for (;;) {
    const t = await feedCall('GET', '/topics/EURUSD')
    if (t.stale === stale) return
    if (Date.now() > deadline) throw new Error('EURUSD never stale=' + stale)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

let passed = 0
let failed = 0
function check (name, cond, detail) {
  if (cond) {
    passed++
    console.log('ok ' + name)
  } else {
    failed++
    console.log('FAIL ' + name + (detail ? ': ' + detail : ''))
  }
}

// The desk's answers, one line each, in order.
const deskAnswers = []
let deskWaiter = null
readline.createInterface({ input: process.stdin }).on('line', line => {
  deskAnswers.push(line)
  if (deskWaiter) {
    const w = deskWaiter
    deskWaiter = null
    w()
  }
})

// desk asks for a desk operation and returns the answer ("ok" or "err ...").
async function desk (...args) {
  console.log('DESK ' + args.join(' '))
  const deadline = Date.now() + 10000
  while (deskAnswers.length === 0) {
    if (Date.now() > deadline) throw new Error('no answer from the desk within 10 s')
    await new Promise(resolve => {
      deskWaiter = resolve
      setTimeout(resolve, 200)
    })
  }
  return deskAnswers.shift()
}

// work runs a desk operation that must succeed.
async function work (...args) {
  const a = await desk(...args)
  if (a !== 'ok') throw new Error('desk ' + args.join(' ') + ': ' + a)
}

class Counterparty extends AsciiSession {
  constructor (config) {
    super(config)
    this.logReceivedMsgs = false
    this.queue = []
    this.waiter = null
  }

  onApplicationMsg (msgType, view) {
    const m = {
      type: msgType,
      ExecType: view.getString('ExecType'),
      OrdStatus: view.getString('OrdStatus'),
      ClOrdID: view.getString('ClOrdID'),
      OrigClOrdID: view.getString('OrigClOrdID'),
      OrderID: view.getString('OrderID'),
      ExecID: view.getString('ExecID'),
      OrderQty: view.getString('OrderQty'),
      CumQty: view.getString('CumQty'),
      LeavesQty: view.getString('LeavesQty'),
      LastQty: view.getString('LastQty'),
      LastPx: view.getString('LastPx'),
      OrdRejReason: view.getString('OrdRejReason'),
      CxlRejReason: view.getString('CxlRejReason'),
      CxlRejResponseTo: view.getString('CxlRejResponseTo'),
      Text: view.getString('Text')
    }
    this.queue.push(m)
    if (this.waiter) {
      const w = this.waiter
      this.waiter = null
      w()
    }
  }

  async next () {
    const deadline = Date.now() + 10000
    while (this.queue.length === 0) {
      if (Date.now() > deadline) throw new Error('no message from the gateway within 10 s')
      await new Promise(resolve => {
        this.waiter = resolve
        setTimeout(resolve, 200)
      })
    }
    return this.queue.shift()
  }

  // expect reads the next message and checks each expected field.
  async expect (name, want) {
    const m = await this.next()
    const bad = []
    for (const [k, v] of Object.entries(want)) {
      const got = k === 'type' ? m.type : m[k]
      const same = ((k.endsWith('Qty') || k.endsWith('Px')) && got !== null && got !== undefined) ? Number(got) === Number(v) : got === v
      if (!same) bad.push(`${k}=${got} want ${v}`)
    }
    check(name, bad.length === 0, bad.join(', ') + ' in ' + JSON.stringify(m))
    return m
  }

  order (id, type, qty, price, handlInst) {
    const o = {
      ClOrdID: id,
      HandlInst: handlInst || '1',
      Instrument: { Symbol: 'EURUSD' },
      Side: '1',
      TransactTime: new Date(),
      OrderQtyData: { OrderQty: qty },
      OrdType: type
    }
    if (price !== undefined) o.Price = price
    return o
  }

  async scenario () {
    // D, market: New then filled at the ask.
    this.send('D', this.order('JS1', '1', 100))
    const n1 = await this.expect('D market -> 8 New', { type: '8', ExecType: '0', OrdStatus: '0', ClOrdID: 'JS1', CumQty: 0, LeavesQty: 100 })
    const f1 = await this.expect('D market -> 8 Trade, filled', { type: '8', ExecType: 'F', OrdStatus: '2', ClOrdID: 'JS1', CumQty: 100, LeavesQty: 0, LastQty: 100 })
    check('ExecIDs differ', n1.ExecID !== f1.ExecID, n1.ExecID)

    // D, limit below the market: rests.
    this.send('D', this.order('JS2', '2', 10, 1.05))
    await this.expect('D limit -> 8 New', { type: '8', ExecType: '0', OrdStatus: '0', ClOrdID: 'JS2', LeavesQty: 10 })

    // G: replace to 20 @ 1.06: pending replace, then replaced.
    this.send('G', Object.assign(this.order('JS3', '2', 20, 1.06), { OrigClOrdID: 'JS2' }))
    await this.expect('G -> 8 Pending Replace', { type: '8', ExecType: 'E', OrdStatus: 'E', ClOrdID: 'JS3', OrigClOrdID: 'JS2', OrderQty: 10 })
    await this.expect('G -> 8 Replaced', { type: '8', ExecType: '5', OrdStatus: '0', ClOrdID: 'JS3', OrigClOrdID: 'JS2', OrderQty: 20, LeavesQty: 20 })

    // G naming a superseded ClOrdID: rejected (9, response to 2).
    this.send('G', Object.assign(this.order('JS4', '2', 30, 1.06), { OrigClOrdID: 'JS2' }))
    await this.expect('G on old ClOrdID -> 9', { type: '9', ClOrdID: 'JS4', OrigClOrdID: 'JS3', CxlRejResponseTo: '2', CxlRejReason: '2', OrdStatus: '0' })

    // F: cancel, pending then canceled.
    const cxl = (id, orig) => ({ OrigClOrdID: orig, ClOrdID: id, Instrument: { Symbol: 'EURUSD' }, Side: '1', TransactTime: new Date(), OrderQtyData: { OrderQty: 20 } })
    this.send('F', cxl('JS5', 'JS3'))
    await this.expect('F -> 8 Pending Cancel', { type: '8', ExecType: '6', OrdStatus: '6', ClOrdID: 'JS5', OrigClOrdID: 'JS3' })
    await this.expect('F -> 8 Canceled', { type: '8', ExecType: '4', OrdStatus: '4', ClOrdID: 'JS5', OrigClOrdID: 'JS3', LeavesQty: 0 })

    // F of the filled order: too late.
    this.send('F', cxl('JS6', 'JS1'))
    await this.expect('F of a filled order -> 9 too late', { type: '9', ClOrdID: 'JS6', OrigClOrdID: 'JS1', CxlRejResponseTo: '1', CxlRejReason: '0', OrdStatus: '2' })

    // F of an unknown order.
    this.send('F', cxl('JS7', 'NOPE'))
    await this.expect('F of an unknown order -> 9 unknown', { type: '9', ClOrdID: 'JS7', CxlRejResponseTo: '1', CxlRejReason: '1', OrdStatus: '8', OrderID: 'NONE' })

    // D reusing a ClOrdID: rejected as a duplicate.
    this.send('D', this.order('JS1', '1', 100))
    await this.expect('D duplicate ClOrdID -> 8 Rejected', { type: '8', ExecType: '8', ClOrdID: 'JS1' })

    await this.pendingWhenTheOrderEnds()
  }

  // A cancel or replace pending when a desk order ends is answered at once
  // (docs/orderstate.md, "A change pending when the order ends").
  async pendingWhenTheOrderEnds () {
    const D = id => this.order(id, '2', 10, 1.05, '3')
    const F = (id, orig) => ({ OrigClOrdID: orig, ClOrdID: id, Instrument: { Symbol: 'EURUSD' }, Side: '1', TransactTime: new Date(), OrderQtyData: { OrderQty: 10 } })
    const G = (id, orig, qty) => Object.assign(this.order(id, '2', qty, 1.06, '3'), { OrigClOrdID: orig })
    const open = async (id, ack) => {
      this.send('D', D(id))
      if (ack) {
        await work('accept', id)
        await this.expect(id + ': desk D -> 8 New', { type: '8', ExecType: '0', OrdStatus: '0', ClOrdID: id })
      }
    }
    const cancel = async (id, orig) => {
      this.send('F', F(id, orig))
      await this.expect(id + ': F -> 8 Pending Cancel', { type: '8', ExecType: '6', OrdStatus: '6', ClOrdID: id, OrigClOrdID: orig })
    }
    const replace = async (id, orig, qty) => {
      this.send('G', G(id, orig, qty))
      await this.expect(id + ': G -> 8 Pending Replace', { type: '8', ExecType: 'E', OrdStatus: 'E', ClOrdID: id, OrigClOrdID: orig })
    }
    const tooLate = (name, id, orig, status, to) =>
      this.expect(name, { type: '9', ClOrdID: id, OrigClOrdID: orig, OrdStatus: status, CxlRejResponseTo: to, CxlRejReason: '0' })

    // Filled while a cancel is pending (B.1.c): 8 Trade (6), then 9 too late (2).
    await open('JD1', true)
    await work('fill', 'JD1', '4')
    await this.expect('JD1: desk fill -> 8 Trade', { type: '8', ExecType: 'F', OrdStatus: '1', CumQty: 4, LeavesQty: 6 })
    await cancel('JD2', 'JD1')
    await work('fill', 'JD1', '6')
    await this.expect('JD1: fill while cancel pending -> 8 Trade, OrdStatus 6', { type: '8', ExecType: 'F', OrdStatus: '6', ClOrdID: 'JD1', CumQty: 10, LeavesQty: 0 })
    await tooLate('JD1: ... then 9 too late, Filled', 'JD2', 'JD1', '2', '1')
    check('JD1: desk accept-cancel refused', (await desk('acceptcancel', 'JD1')).startsWith('err'))
    this.send('F', F('JD3', 'JD1'))
    await tooLate('JD1: next F -> 9 too late (not "already pending")', 'JD3', 'JD1', '2', '1')

    // Filled while a replace is pending: 8 Trade (E), then 9 too late (2).
    await open('JR1', true)
    await replace('JR2', 'JR1', 10)
    await work('fill', 'JR1', '10')
    await this.expect('JR1: fill while replace pending -> 8 Trade, OrdStatus E', { type: '8', ExecType: 'F', OrdStatus: 'E', ClOrdID: 'JR1', CumQty: 10, LeavesQty: 0 })
    await tooLate('JR1: ... then 9 too late, Filled', 'JR2', 'JR1', '2', '2')

    // A correction fills the order while a cancel is pending.
    await open('JK1', true)
    await work('fill', 'JK1', '4')
    const k = await this.expect('JK1: desk fill -> 8 Trade', { type: '8', ExecType: 'F', CumQty: 4 })
    await cancel('JK2', 'JK1')
    await work('correct', 'JK1', k.ExecID, '10')
    await this.expect('JK1: correction to the full qty -> 8 Trade Correct, OrdStatus 6', { type: '8', ExecType: 'G', OrdStatus: '6', CumQty: 10, LeavesQty: 0 })
    await tooLate('JK1: ... then 9 too late, Filled', 'JK2', 'JK1', '2', '1')

    // Done for day while a cancel is pending: 8 Done for Day (6), then 9 too late (3).
    await open('JF1', true)
    await cancel('JF2', 'JF1')
    await work('dfd', 'JF1')
    await this.expect('JF1: done for day -> 8 Done for Day, OrdStatus 6', { type: '8', ExecType: '3', OrdStatus: '6', LeavesQty: 0 })
    await tooLate('JF1: ... then 9 too late, Done for Day', 'JF2', 'JF1', '3', '1')

    // Canceled by the desk while a replace is pending: 8 Canceled, then 9 too late (4).
    await open('JU1', true)
    await replace('JU2', 'JU1', 20)
    await work('cancel', 'JU1')
    await this.expect('JU1: desk cancel -> 8 Canceled', { type: '8', ExecType: '4', OrdStatus: '4', ClOrdID: 'JU1', LeavesQty: 0 })
    await tooLate('JU1: ... then 9 too late, Canceled', 'JU2', 'JU1', '4', '2')

    // Canceled by the desk while a cancel is pending: the cancel is honoured.
    await open('JC1', true)
    await cancel('JC2', 'JC1')
    await work('cancel', 'JC1')
    await this.expect('JC1: desk cancel honours the pending cancel -> 8 Canceled', { type: '8', ExecType: '4', OrdStatus: '4', ClOrdID: 'JC2', OrigClOrdID: 'JC1', LeavesQty: 0 })

    // Rejected by the desk while a cancel is pending (before the ack): 8 Rejected, then 9 too late (8).
    await open('JJ1', false)
    await cancel('JJ2', 'JJ1')
    await work('reject', 'JJ1')
    await this.expect('JJ1: desk reject -> 8 Rejected', { type: '8', ExecType: '8', OrdStatus: '8', ClOrdID: 'JJ1' })
    await tooLate('JJ1: ... then 9 too late, Rejected', 'JJ2', 'JJ1', '8', '1')

    // Busted to zero while a cancel is pending: the order stays open, the cancel pending.
    await open('JB1', true)
    await work('fill', 'JB1', '4')
    const b = await this.expect('JB1: desk fill -> 8 Trade', { type: '8', ExecType: 'F', CumQty: 4 })
    await cancel('JB2', 'JB1')
    await work('bust', 'JB1', b.ExecID)
    await this.expect('JB1: bust -> 8 Trade Cancel, OrdStatus 6', { type: '8', ExecType: 'H', OrdStatus: '6', CumQty: 0, LeavesQty: 10 })
    await work('acceptcancel', 'JB1')
    await this.expect('JB1: the cancel is still accepted -> 8 Canceled', { type: '8', ExecType: '4', OrdStatus: '4', ClOrdID: 'JB2', OrigClOrdID: 'JB1' })
  }

  // staleScenario checks the price guard: reject (the gateway's default)
  // or hold (StalePriceAction=hold).
  async staleScenario (hold) {
    const ageText = /price stale: EURUSD price \S+ old/
    await feedCall('POST', '/sources/pause/EURUSD')
    await waitStale(true)
    if (!hold) {
      this.send('D', this.order('JG1', '1', 10))
      const r = await this.expect('stale market -> 8 Rejected 99', { type: '8', ExecType: '8', OrdStatus: '8', ClOrdID: 'JG1', OrdRejReason: '99', CumQty: 0 })
      check('reject Text names the symbol and the age', ageText.test(r.Text || ''), r.Text)
      this.send('D', this.order('JG2', '2', 10, 1.3))
      await this.expect('stale crossing limit -> 8 Rejected 99', { type: '8', ExecType: '8', ClOrdID: 'JG2', OrdRejReason: '99' })
      this.send('D', this.order('JG3', '2', 10, 1.05))
      await this.expect('limit away from the market -> 8 New', { type: '8', ExecType: '0', OrdStatus: '0', ClOrdID: 'JG3' })
      await feedCall('POST', '/sources/resume/EURUSD')
      await waitStale(false)
      this.send('D', this.order('JG4', '1', 10))
      await this.expect('fresh market -> 8 New', { type: '8', ExecType: '0', ClOrdID: 'JG4' })
      await this.expect('fresh market -> filled at the fresh ask', { type: '8', ExecType: 'F', OrdStatus: '2', ClOrdID: 'JG4', LastPx: 1.2002 })
      return
    }
    this.send('D', this.order('JH1', '1', 10))
    await this.expect('stale market -> 8 New (held)', { type: '8', ExecType: '0', OrdStatus: '0', ClOrdID: 'JH1' })
    this.send('D', this.order('JH2', '2', 10, 1.3))
    await this.expect('stale crossing limit -> 8 New (held)', { type: '8', ExecType: '0', OrdStatus: '0', ClOrdID: 'JH2' })
    this.send('D', Object.assign(this.order('JH3', '1', 10), { TimeInForce: '3' }))
    await this.expect('stale IOC -> 8 New', { type: '8', ExecType: '0', ClOrdID: 'JH3' })
    const x = await this.expect('stale IOC -> 8 Canceled, nothing filled', { type: '8', ExecType: '4', OrdStatus: '4', ClOrdID: 'JH3', CumQty: 0 })
    check('IOC Text says the price was stale', ageText.test(x.Text || ''), x.Text)
    await feedCall('POST', '/sources/resume/EURUSD')
    const filled = []
    for (let i = 0; i < 2; i++) {
      const f = await this.expect('held order filled at the first fresh price', { type: '8', ExecType: 'F', OrdStatus: '2', CumQty: 10, LastPx: 1.2002 })
      filled.push(f.ClOrdID)
    }
    check('both held orders filled', filled.sort().join() === 'JH1,JH2', filled.join())
  }

  onReady () {
    const run = scenarioName === 'orders' ? this.scenario() : this.staleScenario(scenarioName === 'stale-hold')
    run.catch(e => check('scenario', false, e.message)).finally(() => this.done())
  }

  onStopped () {}
  onLogon () { return true }
  onDecoded () {}
  onEncoded () {}
}

class Launcher extends SessionLauncher {
  constructor (description) {
    super(description, null, new JsFixWinstonLogFactory(WinstonLogger.consoleOptions('error')))
  }

  makeFactory () {
    return { makeSession: (config) => new Counterparty(config) }
  }
}

const description = {
  application: {
    type: 'initiator',
    name: 'tickwire-counterparty',
    reconnectSeconds: 1,
    tcp: { host, port },
    protocol: 'ascii',
    dictionary: 'repo44'
  },
  Username: sender,
  Password: 'none',
  EncryptMethod: 0,
  ResetSeqNumFlag: true,
  HeartBtInt: 30,
  SenderCompId: sender,
  TargetCompID: target,
  BeginString: 'FIX.4.4'
}

const timer = setTimeout(() => {
  check('finished within ' + timeoutMs + ' ms', false)
  finish()
}, timeoutMs)

function finish () {
  clearTimeout(timer)
  const total = passed + failed
  console.log(failed === 0 && passed > 0 ? `RESULT pass ${passed}` : `RESULT fail ${failed}/${total}`)
  process.exit(failed === 0 && passed > 0 ? 0 : 1)
}

new Launcher(description).run().then(finish).catch(e => {
  check('session', false, e && e.message)
  finish()
})
