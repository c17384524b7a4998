// A Worker for the site opened from disk (file://), where browsers refuse to start one. The
// search of the site runs in a worker; here the worker's script runs in a hidden frame of the
// page instead, and messages pass between the two. (Material's offline plugin would fetch a
// script like this from a CDN; the site fetches nothing, so it brings its own.)
(function () {
  if (location.protocol !== "file:") return;

  class FrameWorker extends EventTarget {
    constructor(url) {
      super();
      this.onmessage = null;
      this.waiting = [];
      this.frame = document.createElement("iframe");
      this.frame.hidden = true;
      document.body.appendChild(this.frame);
      const inner = this.frame.contentWindow;
      const outer = this;
      inner.postMessage = function (data) {  // the worker's postMessage: to the page
        const event = new MessageEvent("message", { data: data });
        if (outer.onmessage) outer.onmessage(event);
        outer.dispatchEvent(event);
      };
      const script = inner.document.createElement("script");
      script.src = new URL(url, location.href).href;
      script.onload = function () {
        const waiting = outer.waiting;
        outer.waiting = null;
        waiting.forEach(function (data) { outer.postMessage(data); });
      };
      inner.document.head.appendChild(script);
    }

    postMessage(data) {  // the page's postMessage: to the worker
      if (this.waiting) { this.waiting.push(data); return; }
      const inner = this.frame.contentWindow;
      inner.dispatchEvent(new inner.MessageEvent("message", { data: data }));
    }

    terminate() {
      this.frame.remove();
    }
  }

  window.Worker = FrameWorker;
})();
