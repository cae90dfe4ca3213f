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
// fills at once, a limit buy at 1.05 rests). Prints one line per check
// ("ok ..." or "FAIL ...") and "RESULT pass N" or "RESULT fail N/M"; exits
// 0 only when every check passed. Quirks (REFERENCE §2): the session key is
// SenderCompId (lower-case d), BodyLength is zero-padded (quickfix accepts
// it), the message store is in memory, so the session logs on with
// ResetSeqNumFlag=Y.
'use strict'
require('reflect-metadata')
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
  const res = await fetch(feed + path, { method })
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

  order (id, type, qty, price) {
    const o = {
      ClOrdID: id,
      HandlInst: '1',
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
