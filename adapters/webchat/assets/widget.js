// The waflow web chat, in the browser: the sandbox page (data-mode="sandbox") and the widget
// any page can embed with <script src=".../webchat/widget.js" data-device="...">.
//
// One WebSocket per page to <base>/webchat/ws?contact=<id>; the frames are described in
// docs/webchat.md. The contact id lives in localStorage, so a reload is the same conversation.
// A message stays pending until the server acknowledges it (it is then durable) and is sent
// again, with the same id, after a reconnect: the server drops the duplicate.
// No framework, no inline script or style (the page's Content-Security-Policy allows only its
// own files), and only textContent for anything the bot or the user wrote.
(function () {
  'use strict';

  var script = document.currentScript;
  if (!script) {
    return;
  }
  var base = script.src.replace(/\/webchat\/widget\.js([?#].*)?$/, '');
  var device = script.getAttribute('data-device') || 'web';
  var mode = script.getAttribute('data-mode') === 'sandbox' ? 'sandbox' : 'widget';
  var title = script.getAttribute('data-title') || 'Chat';
  var ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
  var MAX_TEXT_BYTES = 4096;

  function randomId(length) {
    var bytes = new Uint8Array(length);
    window.crypto.getRandomValues(bytes);
    var out = '';
    for (var i = 0; i < length; i++) {
      out += ID_CHARS.charAt(bytes[i] % 64);
    }
    return out;
  }

  var storageKey = 'waflow.webchat.contact.' + device;
  var memoryContact = null;

  function contactId(fresh) {
    var id = null;
    try {
      id = fresh ? null : window.localStorage.getItem(storageKey);
      if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
        id = randomId(22);
        window.localStorage.setItem(storageKey, id);
      }
    } catch (e) {
      // No storage (a private window, a sandboxed frame): one contact per page load.
      if (fresh || !memoryContact) {
        memoryContact = randomId(22);
      }
      id = memoryContact;
    }
    return id;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  // Only http(s) addresses become links or images: never javascript: or data: from a payload.
  function safeUrl(url) {
    if (typeof url !== 'string') {
      return null;
    }
    try {
      var parsed = new URL(url, window.location.href);
      return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function link(url, text) {
    var a = el('a', null, text);
    a.href = url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    return a;
  }

  function Chat(root) {
    this.root = root;
    this.contact = contactId(false);
    this.pending = new Map();  // id -> frame, in the order sent
    this.bubbles = new Map();  // id -> the user's bubble
    this.socket = null;
    this.retryMs = 500;
    this.typingTimer = null;
    this.stopped = true;
    this.build();
  }

  Chat.prototype.build = function () {
    var self = this;
    var inputId = 'wf-input-' + randomId(6);
    this.log = el('div', 'wf-log');
    this.log.setAttribute('role', 'log');
    this.log.setAttribute('aria-live', 'polite');
    this.log.setAttribute('aria-label', 'Conversation');
    this.log.tabIndex = 0;
    this.typingLine = el('div', 'wf-typing');
    this.typingLine.setAttribute('aria-live', 'polite');
    this.form = el('form', 'wf-compose');
    var label = el('label', 'wf-sr', 'Message');
    label.htmlFor = inputId;
    this.input = el('input');
    this.input.id = inputId;
    this.input.type = 'text';
    this.input.autocomplete = 'off';
    this.input.placeholder = 'Type a message';
    this.input.setAttribute('enterkeyhint', 'send');
    this.sendButton = el('button', null, 'Send');
    this.sendButton.type = 'submit';
    this.form.appendChild(label);
    this.form.appendChild(this.input);
    this.form.appendChild(this.sendButton);
    this.form.addEventListener('submit', function (event) {
      event.preventDefault();
      self.sendText(self.input.value);
    });
    this.root.appendChild(this.log);
    this.root.appendChild(this.typingLine);
    this.root.appendChild(this.form);
  };

  Chat.prototype.start = function () {
    if (!this.stopped) {
      return;
    }
    this.stopped = false;
    this.connect();
  };

  Chat.prototype.connect = function () {
    var self = this;
    var url = base.replace(/^http/, 'ws') + '/webchat/ws?contact=' +
        encodeURIComponent(this.contact) + '&device=' + encodeURIComponent(device);
    var socket = new WebSocket(url);
    this.socket = socket;
    socket.addEventListener('open', function () {
      self.retryMs = 500;
      self.setStatus('');
      // What the server did not acknowledge before the connection dropped, in order.
      self.pending.forEach(function (frame) {
        socket.send(JSON.stringify(frame));
      });
    });
    socket.addEventListener('message', function (event) {
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      self.receive(frame);
    });
    socket.addEventListener('close', function () {
      if (self.socket !== socket || self.stopped) {
        return;
      }
      self.setStatus('Reconnecting…');
      window.setTimeout(function () {
        if (self.socket === socket && !self.stopped) {
          self.connect();
        }
      }, self.retryMs);
      self.retryMs = Math.min(self.retryMs * 2, 10000);
    });
  };

  // Forgets the contact: a new id, an empty conversation.
  Chat.prototype.reset = function () {
    this.contact = contactId(true);
    this.pending.clear();
    this.bubbles.clear();
    this.log.textContent = '';
    var old = this.socket;
    this.socket = null;
    if (old) {
      old.close();
    }
    this.stopped = true;
    this.start();
  };

  Chat.prototype.setStatus = function (text) {
    if (!this.status) {
      this.status = el('div', 'wf-system');
      this.status.setAttribute('role', 'status');
    }
    this.status.textContent = text;
    if (text && !this.status.parentNode) {
      this.log.appendChild(this.status);
    } else if (!text && this.status.parentNode) {
      this.status.parentNode.removeChild(this.status);
    }
  };

  Chat.prototype.transmit = function (frame) {
    if (frame.id) {
      this.pending.set(frame.id, frame);
    }
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(frame));
    }
  };

  Chat.prototype.sendText = function (text) {
    text = (text || '').trim();
    if (!text) {
      return;
    }
    if (new TextEncoder().encode(text).length > MAX_TEXT_BYTES) {
      this.showError('The message is too long.');
      return;
    }
    this.input.value = '';
    var id = 'm' + randomId(20);
    this.userBubble(id, text);
    this.transmit({type: 'message', id: id, text: text});
  };

  Chat.prototype.sendTap = function (payload, choiceTitle, kind) {
    var id = 'm' + randomId(20);
    this.userBubble(id, choiceTitle);
    this.transmit({type: 'tap', id: id, payload: payload, title: choiceTitle, kind: kind});
  };

  Chat.prototype.startFlow = function (flow) {
    this.transmit({type: 'start', id: 's' + randomId(20), flow: flow});
    this.system('Started ' + flow);
  };

  Chat.prototype.userBubble = function (id, text) {
    var bubble = el('div', 'wf-msg wf-user wf-pending', text);
    bubble.setAttribute('data-id', id);
    this.bubbles.set(id, bubble);
    this.append(bubble);
  };

  Chat.prototype.system = function (text) {
    this.append(el('div', 'wf-system', text));
  };

  Chat.prototype.showError = function (text) {
    var line = el('div', 'wf-error', text);
    line.setAttribute('role', 'alert');
    this.append(line);
  };

  Chat.prototype.append = function (node) {
    if (this.status && this.status.parentNode) {
      this.log.insertBefore(node, this.status);
    } else {
      this.log.appendChild(node);
    }
    this.log.scrollTop = this.log.scrollHeight;
  };

  Chat.prototype.receive = function (frame) {
    var bubble;
    switch (frame.type) {
      case 'message':
        this.clearTyping();
        this.append(this.botBubble(frame.id, frame.payload || {}));
        break;
      case 'typing':
        this.showTyping(Number(frame.ms) || 0);
        break;
      case 'ack':
        this.pending.delete(frame.id);
        bubble = this.bubbles.get(frame.id);
        if (bubble) {
          bubble.classList.remove('wf-pending');
          this.bubbles.delete(frame.id);
        }
        break;
      case 'history':
        this.showHistory(frame.messages || []);
        break;
      case 'error':
        if (frame.id) {
          this.pending.delete(frame.id);
          bubble = this.bubbles.get(frame.id);
          if (bubble) {
            bubble.classList.remove('wf-pending');
            bubble.classList.add('wf-failed');
          }
        }
        this.showError(frame.message || 'Something went wrong.');
        break;
      default:
        break;
    }
  };

  // A page that comes back shows the conversation so far, unless it already shows some.
  Chat.prototype.showHistory = function (entries) {
    if (this.log.querySelector('.wf-msg')) {
      return;
    }
    for (var i = 0; i < entries.length; i++) {
      var entry = entries[i];
      var payload = entry.payload || {};
      if (entry.from === 'bot') {
        this.append(this.botBubble(entry.id, payload));
      } else {
        this.append(el('div', 'wf-msg wf-user', payload.title || payload.text || ''));
      }
    }
  };

  Chat.prototype.showTyping = function (ms) {
    var self = this;
    this.typingLine.textContent = 'typing…';
    window.clearTimeout(this.typingTimer);
    this.typingTimer = window.setTimeout(function () {
      self.clearTyping();
    }, Math.min(Math.max(ms, 500), 30000));
  };

  Chat.prototype.clearTyping = function () {
    window.clearTimeout(this.typingTimer);
    this.typingLine.textContent = '';
  };

  Chat.prototype.choiceButton = function (id, label, description, kind) {
    var self = this;
    var button = el('button', 'wf-choice', label);
    button.type = 'button';
    if (description) {
      button.appendChild(el('small', null, description));
    }
    button.addEventListener('click', function () {
      self.sendTap(String(id), String(label), kind);
    });
    return button;
  };

  // One bot message: the send payloads of docs/bytecode.md "Effects".
  Chat.prototype.botBubble = function (id, p) {
    var bubble = el('div', 'wf-msg wf-bot');
    bubble.setAttribute('data-id', id || '');
    var type = p.type;
    if (p.header) {
      bubble.appendChild(el('span', 'wf-header', p.header));
    }
    if (type === 'text' || type === 'buttons' || type === 'list') {
      bubble.appendChild(el('span', 'wf-text', p.text || ''));
    }
    var choices;
    var i;
    if (type === 'buttons') {
      choices = el('div', 'wf-choices');
      choices.setAttribute('role', 'group');
      choices.setAttribute('aria-label', 'Choices');
      var buttons = p.buttons || [];
      for (i = 0; i < buttons.length; i++) {
        choices.appendChild(this.choiceButton(buttons[i].id, buttons[i].title, null, 'button'));
      }
      bubble.appendChild(choices);
    } else if (type === 'list') {
      choices = el('div', 'wf-choices');
      choices.setAttribute('role', 'group');
      choices.setAttribute('aria-label', p.button || 'Choices');
      var sections = p.sections || [];
      for (i = 0; i < sections.length; i++) {
        if (sections[i].title) {
          choices.appendChild(el('p', 'wf-section-title', sections[i].title));
        }
        var rows = sections[i].rows || [];
        for (var j = 0; j < rows.length; j++) {
          choices.appendChild(
              this.choiceButton(rows[j].id, rows[j].title, rows[j].description, 'list'));
        }
      }
      bubble.appendChild(choices);
    } else if (type === 'image' || type === 'sticker') {
      var src = safeUrl(p.url);
      if (src) {
        var img = el('img');
        img.src = src;
        img.alt = p.caption || (type === 'sticker' ? 'Sticker' : 'Image');
        bubble.appendChild(img);
      }
      if (p.caption) {
        bubble.appendChild(el('span', 'wf-text', p.caption));
      }
    } else if (type === 'audio' || type === 'video' || type === 'document') {
      var href = safeUrl(p.url);
      var name = p.filename || p.caption || type;
      bubble.appendChild(href ? link(href, name) : el('span', 'wf-text', name));
      if (p.caption && p.filename) {
        bubble.appendChild(el('span', 'wf-footer', p.caption));
      }
    } else if (type === 'location') {
      var lat = Number(p.latitude);
      var lon = Number(p.longitude);
      var where = p.name || p.address || (lat + ', ' + lon);
      bubble.appendChild(link('https://www.openstreetmap.org/?mlat=' + lat + '&mlon=' + lon +
                              '#map=16/' + lat + '/' + lon, where));
      if (p.name && p.address) {
        bubble.appendChild(el('span', 'wf-footer', p.address));
      }
    } else if (type === 'template') {
      var params = (p.params || []).join(', ');
      bubble.appendChild(el('span', 'wf-text', 'Template ' + (p.name || '') +
                                                   (params ? ': ' + params : '')));
    } else if (type !== 'text') {
      bubble.appendChild(el('span', 'wf-text', JSON.stringify(p)));
    }
    if (p.footer) {
      bubble.appendChild(el('span', 'wf-footer', p.footer));
    }
    return bubble;
  };

  function sandbox() {
    var root = document.getElementById('wf-chat');
    if (!root) {
      return;
    }
    var chat = new Chat(root);
    var select = document.getElementById('wf-flow');
    var startForm = document.getElementById('wf-start');
    var reset = document.getElementById('wf-reset');
    window.fetch(base + '/webchat/flows', {cache: 'no-store'})
        .then(function (response) {
          return response.json();
        })
        .then(function (body) {
          var flows = body.flows || [];
          for (var i = 0; i < flows.length; i++) {
            var option = el('option', null, flows[i].title || flows[i].name);
            option.value = flows[i].name;
            select.appendChild(option);
          }
          select.disabled = flows.length === 0;
          if (flows.length === 0) {
            chat.system('No flow can be started from here; type to talk to the bot.');
          }
          startForm.setAttribute('data-ready', 'true');
        })
        .catch(function () {
          chat.showError('The list of flows could not be loaded.');
        });
    startForm.addEventListener('submit', function (event) {
      event.preventDefault();
      if (select.value) {
        chat.startFlow(select.value);
        chat.input.focus();
      }
    });
    reset.addEventListener('click', function () {
      chat.reset();
      chat.system('A new contact.');
    });
    chat.start();
    chat.input.focus();
  }

  function widget() {
    var host = el('div');
    host.setAttribute('data-waflow-widget', device);
    var shadow = host.attachShadow({mode: 'open'});
    var style = el('link');
    style.rel = 'stylesheet';
    style.href = base + '/webchat/chat.css';
    shadow.appendChild(style);

    var panelId = 'wf-panel';
    var bubble = el('button', 'wf-bubble', '💬');
    bubble.type = 'button';
    bubble.setAttribute('aria-label', 'Open chat: ' + title);
    bubble.setAttribute('aria-expanded', 'false');
    bubble.setAttribute('aria-controls', panelId);

    var panel = el('section', 'wf-panel');
    panel.id = panelId;
    panel.hidden = true;
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-label', title);
    var bar = el('div', 'wf-bar');
    bar.appendChild(el('h2', null, title));
    var close = el('button', null, '✕');
    close.type = 'button';
    close.setAttribute('aria-label', 'Close chat');
    bar.appendChild(close);
    var body = el('div', 'wf-chat');
    panel.appendChild(bar);
    panel.appendChild(body);
    shadow.appendChild(panel);
    shadow.appendChild(bubble);
    document.body.appendChild(host);

    var chat = new Chat(body);
    function setOpen(open) {
      panel.hidden = !open;
      bubble.setAttribute('aria-expanded', open ? 'true' : 'false');
      bubble.setAttribute('aria-label', (open ? 'Close chat: ' : 'Open chat: ') + title);
      if (open) {
        chat.start();
        chat.input.focus();
      } else {
        bubble.focus();
      }
    }
    bubble.addEventListener('click', function () {
      setOpen(panel.hidden);
    });
    close.addEventListener('click', function () {
      setOpen(false);
    });
    panel.addEventListener('keydown', function (event) {
      if (event.key === 'Escape') {
        setOpen(false);
      }
    });
  }

  var boot = mode === 'sandbox' ? sandbox : widget;
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', boot);
  } else {
    boot();
  }
})();
